import type { Environment, PromoteTarget } from '../domain/environments.js';
import { invalidInput, notFound, secretUnreadable } from '../domain/errors.js';
import type { Store } from '../store/database.js';
import { overridesOf, removeOverride } from '../store/secrets.js';
import type { AuditTrail } from './audit.js';
import { actorOf, requireSecretAdmin, type UserCaller } from './callers.js';
import { nowIso } from './ids.js';
import { UNREADABLE_DETAIL, type SealingService } from './sealing.js';
import { requireSecretNamed, type SecretsService } from './secrets.js';
import { writeValue } from './secretValues.js';

export interface Promotion {
  from: Environment;
  to: PromoteTarget;
  /** Whether `from` had a value of its own, or promoted the default's (SPEC S23). */
  source: 'override' | 'default';
  /** The version `from` resolved to, whose value was copied. */
  fromVersion: number;
  /** The new version made in `to`. */
  version: number;
}

/**
 * Per-environment values beyond setting them (which is a PATCH with "environment", in secrets.ts):
 * removing an override, and promotion, the step of a staged rotation (SPEC S22, S23).
 */
export function environmentsService(deps: { store: Store; audit: AuditTrail; sealing: SealingService; secrets: Pick<SecretsService, 'detailOf'> }) {
  const { audit, sealing, secrets } = deps;

  const requireSecret = requireSecretNamed;

  /** SPEC S22: reads in `environment` fall back to the default from the next call. The versions stay. */
  async function removeEnvironmentOverride(caller: UserCaller, name: string, environment: Environment) {
    requireSecretAdmin(caller);
    const actor = actorOf(caller);
    // The answer is built inside the transaction: read after the commit, it could show a change
    // that landed after this one, or a 404 for a secret deleted since.
    return audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      const overrides = (await overridesOf(tx, [secret.id])).get(secret.id) ?? [];
      const removed = overrides.find((o) => o.environment === environment);
      if (!removed || !(await removeOverride(tx, secret.id, environment))) {
        throw notFound(`Secret "${secret.name}" has no override for ${environment}: reads there already use the default value.`, 'environment');
      }
      await tx.updateTable('secrets').set({ updated_at: nowIso(), updated_by: actor.name }).where('id', '=', secret.id).execute();
      record({
        actor,
        action: 'secret.override_remove',
        outcome: 'success',
        secret: { id: secret.id, name: secret.name },
        version: removed.version,
        detail: { environment, fallsBackTo: secret.current_version },
      });
      return secrets.detailOf(tx, await requireSecret(tx, caller.accountId, name));
    });
  }

  /**
   * SPEC S23: the value `from` resolves to now (its override, else the default) becomes the current
   * value of `to`, as one new version, in one transaction with its audit event. The secret's row is
   * locked (nextVersion) before `from` is resolved, so a change racing the promotion either lands
   * before it (and is what is promoted) or after it.
   */
  async function promote(caller: UserCaller, name: string, from: Environment, to: PromoteTarget) {
    requireSecretAdmin(caller);
    if (from === to) throw invalidInput('to', `promotes from ${from} to ${to}: choose another environment, or "default"`);
    const actor = actorOf(caller);
    const done = await audit.change(caller.accountId, async (tx, record) => {
      const locked = await requireSecret(tx, caller.accountId, name);
      const at = nowIso();
      // Take the row lock first: resolving `from` after it sees every change committed before.
      await tx.updateTable('secrets').set({ updated_at: at, updated_by: actor.name }).where('id', '=', locked.id).execute();
      const secret = await requireSecret(tx, caller.accountId, name);
      const override = ((await overridesOf(tx, [secret.id])).get(secret.id) ?? []).find((o) => o.environment === from);
      const source = override ? 'override' : 'default';
      if (!override && to === 'default') {
        throw invalidInput('from', `${from} has no override, so it already reads the default value: there is nothing to promote to "default"`);
      }
      const fromVersion = override?.version ?? secret.current_version;
      const ref = { id: secret.id, name: secret.name };
      const old = await tx.selectFrom('secret_versions').selectAll().where('secret_id', '=', secret.id).where('version', '=', fromVersion).executeTakeFirstOrThrow();
      const value = await sealing.openVersionIfIntact(tx, caller.accountId, secret.id, old);
      if (value === undefined) {
        record({ actor, action: 'secret.promote', outcome: 'failed', secret: ref, version: fromVersion, detail: { ...UNREADABLE_DETAIL, from, to, source } });
        return { refused: secretUnreadable(secret.name, fromVersion) };
      }
      const version = await writeValue(sealing, tx, { accountId: caller.accountId, secretId: secret.id, target: to === 'default' ? null : to, value, by: actor.name, at });
      // "environment" names where the change lands, so `audit list --env live` shows a promotion to live.
      const detail = { from, to, source, fromVersion, ...(to === 'default' ? {} : { environment: to }) };
      record({ actor, action: 'secret.promote', outcome: 'success', secret: ref, version, detail });
      // As this transaction leaves the secret (see removeEnvironmentOverride for why not after it).
      const answer = await secrets.detailOf(tx, await requireSecret(tx, caller.accountId, name));
      return { promotion: { from, to, source, fromVersion, version } satisfies Promotion, secret: answer };
    });
    if ('refused' in done) throw done.refused;
    return done;
  }

  return { removeEnvironmentOverride, promote };
}

export type EnvironmentsService = ReturnType<typeof environmentsService>;
