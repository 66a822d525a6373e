import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildServer } from '../http/server.js';
import type { Log } from '../vault/log.js';
import type { BrokerOptions, Vault } from '../vault/index.js';
import { ConfigError } from './configError.js';
import { prometheusMetrics, type PrometheusMetrics } from '../http/metrics.js';
import { readMetricsToken } from './metricsToken.js';
import { serviceLog } from './serviceLog.js';
import { DEFAULT_SHUTDOWN_SECONDS, stopOnSignals } from './shutdown.js';
import { openVault, type StorageFlags } from './storage.js';

export interface ServeFlags extends StorageFlags {
  port: number;
  host: string;
  adminEmail: string;
  secureCookies?: boolean;
  readsPerSecond: number;
  brokerRequestsPerSecond?: number;
  brokerAllowPrivate?: boolean;
  brokerCaFile?: string;
  /** The URL people reach the service at (the SSO redirect URI is built from it). */
  publicUrl?: string;
  /** Accept an OpenID provider over plain http: tests and labs only. */
  ssoAllowInsecureIssuer?: boolean;
  ssoAllowPrivateIssuer?: boolean;
  /** SPEC S30: GET /metrics with the bearer token in this file; without it there is no /metrics. */
  metricsTokenFile?: string | undefined;
  accessLog?: boolean | undefined;
  /** Seconds a SIGTERM/SIGINT stop may take before the process exits 1. */
  shutdownTimeout?: number | undefined;
}

/**
 * Starts the service. On the first start with an empty store it creates the default account and its
 * first admin, but only once the service listens (SPEC S20): a start that fails (a busy port) leaves
 * nothing half made. The admin's one-time password and token go to a terminal only, never into a log
 * stream; without a terminal the log says how to get in instead.
 */
export async function serve(flags: ServeFlags): Promise<void> {
  const log = serviceLog();
  const logger = log.logger;
  // Read before storage is touched: a bad token file stops the start with one line and nothing made.
  const metricsEndpoint = metricsFromFlags(flags);
  if (flags.ssoAllowInsecureIssuer && !flags.ssoAllowPrivateIssuer) {
    // Plain http is only ever sent to addresses inside the network (the egress's rule): alone, the flag could not work.
    throw new ConfigError('--sso-allow-insecure-issuer needs --sso-allow-private-issuer: plain http goes only to an identity provider at a private or loopback address');
  }
  // A store that cannot take writes could answer nothing but 503 (every read writes its audit event).
  const { vault, description } = await openVault(flags, {
    createIfMissing: true,
    log: logger,
    requireWrites: true,
    sso: { allowInsecureIssuer: flags.ssoAllowInsecureIssuer === true, allowPrivateIssuer: flags.ssoAllowPrivateIssuer === true },
    ...(metricsEndpoint ? { metrics: metricsEndpoint.metrics } : {}),
    broker: brokerOptions(flags),
  });
  if (flags.ssoAllowInsecureIssuer) logger.warn('--sso-allow-insecure-issuer: OpenID providers over plain http are accepted; use this for tests and labs only');

  await vault.store.readEvents.ready();
  const app = await buildServer({
    vault,
    logger,
    secureCookies: flags.secureCookies ?? false,
    limits: { readsPerSecond: flags.readsPerSecond, ...(flags.brokerRequestsPerSecond === undefined ? {} : { brokeredRequestsPerSecond: flags.brokerRequestsPerSecond }) },
    ...(flags.publicUrl === undefined ? {} : { publicUrl: flags.publicUrl }),
    ...(metricsEndpoint ? { metricsEndpoint } : {}),
    accessLog: flags.accessLog ?? false,
  });
  // Log lines wait until the first start is told about: a person reads that first, then "listening".
  log.hold();
  try {
    await app.listen({ port: flags.port, host: flags.host });
  } catch (error) {
    log.release();
    // Let go of the database and the audit writer, so that the one line the caller prints is the end.
    await app.close().catch(() => undefined);
    await vault.close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : flags.port;
  const hostForUrl = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`;

  try {
    await makeFirstAdmin(vault, flags.adminEmail, url, log.direct);
  } catch (error) {
    log.release();
    // A service that could not make its first admin would listen with nobody able to use it.
    await app.close().catch(() => undefined);
    await vault.close().catch(() => undefined);
    throw error;
  }
  log.release();
  logger.info({ url, storage: description }, 'agent-secrets is listening');
  // For a person, a plain line with the address; a log stream gets JSON lines only (the one above has the url).
  if (log.readable) process.stdout.write(`agent-secrets listening on ${url} (${description})\n`);

  stopOnSignals(app, vault, { seconds: flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS, logger });
}

/** --metrics-token-file: the metrics the vault reports into and the token /metrics asks for; none without it. */
function metricsFromFlags(flags: ServeFlags): { metrics: PrometheusMetrics; token: string } | undefined {
  if (flags.metricsTokenFile === undefined) return undefined;
  const token = readMetricsToken(flags.metricsTokenFile);
  return { metrics: prometheusMetrics(), token };
}

/** SPEC S26: serve's --broker-* flags, checked before anything starts (a bad CA file is one clear line). */
function brokerOptions(flags: ServeFlags): BrokerOptions {
  let extraCa: string | undefined;
  if (flags.brokerCaFile !== undefined) {
    try {
      extraCa = readFileSync(flags.brokerCaFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`--broker-ca-file ${flags.brokerCaFile} cannot be read (${(error as { code?: string }).code ?? 'error'})`);
    }
    try {
      if (!extraCa.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no certificate');
      // Every certificate in the file must parse: a typo must not silently trust nothing (or something else).
      for (const pem of extraCa.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) new X509Certificate(pem);
    } catch {
      throw new ConfigError(`--broker-ca-file ${flags.brokerCaFile} holds no PEM certificates ("-----BEGIN CERTIFICATE-----" blocks) that parse`);
    }
  }
  return { allowPrivate: flags.brokerAllowPrivate === true, ...(extraCa === undefined ? {} : { extraCa }) };
}

/** SPEC S20: the default account and its first admin, on an empty store, told about on a terminal only. */
async function makeFirstAdmin(vault: Vault, email: string, url: string, logger: Log): Promise<void> {
  if (!(await vault.accounts.isEmpty())) return;
  const onTerminal = process.stdout.isTTY === true;
  try {
    if (!onTerminal) {
      const made = await vault.accounts.createAccountAwaitingReset('default', email);
      // A warning, so that it shows at every log level but silent: without it nobody knows how to get in.
      logger.warn(
        { account: made.account, email: made.email },
        `First start: created account "default" and its first admin ${made.email}. There is no terminal to show a password on: to sign in, run "agent-secrets users reset-password ${made.email}" with this service's --data or --database-url, for a one-time password.`,
      );
      return;
    }
    const firstAdmin = await vault.accounts.createAccount('default', email);
    // Straight to the terminal, never through the logger.
    process.stdout.write(
      [
        '',
        'First start: created account "default" with the secrets vault enabled, and its first admin.',
        `  console   ${url}/`,
        `  email     ${firstAdmin.email}`,
        `  password  ${firstAdmin.password}`,
        `  token     ${firstAdmin.token}`,
        'These are shown only now. The password is one-time: it signs in once, within 72 hours, to choose',
        'your own. The token is a credential of its own and keeps working. Use it with the CLI:',
        `  export AGENT_SECRETS_URL=${url} AGENT_SECRETS_TOKEN=${firstAdmin.token}`,
        '',
      ].join('\n') + '\n',
    );
  } catch (error) {
    // Several instances started at once on an empty database: another one made the account.
    if (await vault.accounts.isEmpty()) throw error;
  }
}
