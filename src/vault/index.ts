import { Keyring } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/masterKey.js';
import type { Store } from '../store/database.js';

export { isStorageUnavailable } from '../store/database.js';
import { accountsService } from './accounts.js';
import { agentsService } from './agents.js';
import { AuditTrail, type AuditTrailOptions } from './audit.js';
import { auditQueries } from './auditQueries.js';
import { brokerService } from './broker.js';
import { createEgress, type EgressOptions } from '../egress/send.js';
import type { Log } from './log.js';
import { noMetrics, type VaultMetrics } from './metrics.js';
import { oidcClient, ssoEgressOptions, type OidcOptions } from './oidcClient.js';
import { passwordsService } from './passwords.js';
import { peopleService } from './people.js';
import { readinessService } from './readiness.js';
import { runtimeService } from './runtime.js';
import { sealingService } from './sealing.js';
import { environmentsService } from './environments.js';
import { secretsService } from './secrets.js';
import { ssoSettingsService } from './ssoSettings.js';
import { ssoSignInService } from './ssoSignIn.js';

/** How brokered requests leave the vault (SPEC S26): serve's --broker-* flags; tests inject a resolver. */
export type BrokerOptions = Partial<EgressOptions>;

export const DEFAULT_BROKER_OPTIONS: EgressOptions = { allowPrivate: false, maxAnswerBytes: 10 * 1024 * 1024, maxInFlight: 64 };

/** Wires the use cases by hand, each given exactly what it uses. */
export function createVault(deps: { store: Store; masterKey: MasterKey; log: Log; metrics?: VaultMetrics; benchmark?: AuditTrailOptions; broker?: BrokerOptions; sso?: OidcOptions }) {
  const { store, log } = deps;
  const metrics = deps.metrics ?? noMetrics;
  const keyring = new Keyring(deps.masterKey);
  const sealing = sealingService(keyring);
  const audit = new AuditTrail({ store, log, sealing, metrics }, deps.benchmark);
  const secrets = secretsService({ store, audit, sealing });
  const runtime = runtimeService({ store, sealing, audit, metrics });
  const egress = createEgress({ ...DEFAULT_BROKER_OPTIONS, ...deps.broker });
  // The identity provider is called through an egress of its own: same address rules, its own flag and pool.
  const oidc = oidcClient(deps.sso ?? {}, createEgress(ssoEgressOptions(deps.sso ?? {})));
  return {
    store,
    audit,
    /** Where the vault and the routes report counts and timings (SPEC S30); a no-op unless metrics are on. */
    metrics,
    accounts: accountsService({ store, audit, sealing }),
    people: peopleService({ store, audit }),
    passwords: passwordsService({ store, audit }),
    agents: agentsService({ store, audit }),
    secrets,
    environments: environmentsService({ store, audit, sealing, secrets }),
    runtime,
    broker: brokerService({ runtime, audit, egress, metrics }),
    auditLog: auditQueries({ store, audit }),
    readiness: readinessService({ store, log, metrics }),
    ssoSettings: ssoSettingsService({ store, audit, sealing, oidc }),
    ssoSignIn: ssoSignInService({ store, audit, sealing, oidc }),
    async close(): Promise<void> {
      egress.close();
      oidc.close();
      await audit.flush();
      await store.close();
    },
  };
}

export type Vault = ReturnType<typeof createVault>;
