import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { RateLimits } from '../../src/http/rateLimit.js';
import type { ConnectionLimits } from '../../src/http/connections.js';
import { prometheusMetrics } from '../../src/http/metrics.js';
import { buildServer } from '../../src/http/server.js';
import { createVault, type BrokerOptions, type Vault } from '../../src/vault/index.js';
import type { OidcOptions } from '../../src/vault/oidcClient.js';
import type { MasterKey } from '../../src/crypto/masterKey.js';
import { freshStore, testMasterKey, type DatabaseKind, type TestStorage } from './stores.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A real server on a loopback port over a fresh database, with its log lines kept for leak checks. */
export interface Harness {
  url: string;
  vault: Vault;
  storage: TestStorage;
  /** The master key the vault runs on, for a second instance over the same storage. */
  masterKey: MasterKey;
  logLines: string[];
  admin: { email: string; password: string; token: string };
  call<T = any>(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string }): Promise<ApiResponse<T>>;
  /** Creates an account with its admin straight on storage, as an operator would. */
  newAccount(name: string): Promise<{ email: string; password: string; token: string }>;
  /** An agent and a key for it, made by the given admin token. */
  agentWithKey(adminToken: string, name: string): Promise<{ id: string; name: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  limits?: Partial<RateLimits>;
  connections?: Partial<ConnectionLimits>;
  sso?: OidcOptions;
  /** Serve GET /metrics (prom-client, as `serve --metrics-token-file`) to holders of this token. */
  metricsToken?: string;
  accessLog?: boolean;
  /** PostgreSQL: make the database on this server (a test's own) instead of the run's shared one. */
  postgresAdminUrl?: string;
  broker?: BrokerOptions;
}

export async function startHarness(kind: DatabaseKind, options: HarnessOptions = {}): Promise<Harness> {
  const { store, storage, dispose } = await freshStore(kind, options.postgresAdminUrl);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const masterKey = testMasterKey();
  const metrics = options.metricsToken === undefined ? undefined : prometheusMetrics();
  const vault = createVault({ store, masterKey, log: logger, ...(options.sso ? { sso: options.sso } : {}), ...(metrics ? { metrics } : {}), ...(options.broker ? { broker: options.broker } : {}) });
  // As serve does: the audit writer (SQLite: its thread and connection) is open before the first request.
  await vault.store.readEvents.ready();
  const app = await buildServer({
    vault,
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.connections ? { connections: options.connections } : {}),
    ...(metrics && options.metricsToken !== undefined ? { metricsEndpoint: { metrics, token: options.metricsToken } } : {}),
    ...(options.accessLog ? { accessLog: true } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;

  const call: Harness['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, body: body ?? null });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  };

  // A chosen password, so that tests sign in to a full session; a one-time one would open a session
  // that may only change the password (SPEC S19, tested in test/core/passwords.test.ts). Random, so
  // that leak checks look for something that appears nowhere else.
  const adminPassword = () => `harness-${randomBytes(12).toString('base64url')}`;
  const admin = await vault.accounts.createAccount('default', 'admin@example.com', adminPassword());

  return {
    url,
    vault,
    storage,
    masterKey,
    logLines,
    admin,
    call,
    newAccount: (name) => vault.accounts.createAccount(name, `admin@${name}.example.com`, adminPassword()),
    async agentWithKey(adminToken, name) {
      const agent = await call('POST', '/api/v1/agents', { token: adminToken, body: { name } });
      if (agent.status !== 201) throw new Error(`agent ${name}: ${agent.status} ${JSON.stringify(agent.body)}`);
      const key = await call('POST', `/api/v1/agents/${agent.body.id}/keys`, { token: adminToken, body: { name: 'test' } });
      if (key.status !== 201) throw new Error(`key: ${key.status}`);
      return { id: agent.body.id, name, key: key.body.key, keyId: key.body.id };
    },
    async close() {
      await app.close();
      await vault.audit.flush();
      await dispose();
    },
  };
}
