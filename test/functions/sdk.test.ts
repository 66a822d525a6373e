import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConv, createConv, Masker, MissingAccess, runtimeClient, SecretNotFound, SecretsError, VaultUnreachable, type LogEntry } from '../../src/sdk/index.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';
import { closedPort } from './cli.js';

const KEY = `ask_${'0'.repeat(16)}_${'A'.repeat(43)}`;

/** A fetch that answers from a script, one entry per call, counting calls. */
function scriptedFetch(script: Array<'network' | 'hang' | { status: number; body: unknown }>) {
  const calls: string[] = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(String(input));
    const step = script[Math.min(calls.length - 1, script.length - 1)];
    if (step === 'network') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    if (step === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    return new Response(JSON.stringify(step?.body), { status: step?.status ?? 500, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fake, calls };
}

const value = { name: 'booking_api_token', kind: 'single', version: 1, value: 'CANARY-sdk-value' };

describe('run-time client: retries and errors', () => {
  const client = (script: Parameters<typeof scriptedFetch>[0], options: { attempts?: number; timeoutMs?: number } = {}) => {
    const { fake, calls } = scriptedFetch(script);
    return { calls, client: runtimeClient({ agentKey: KEY, url: 'http://vault.test', fetch: fake, backoffMs: 1, ...options }) };
  };

  it('retries a read that got no answer, with a bound, then succeeds', async () => {
    const { client: c, calls } = client(['network', 'network', { status: 200, body: value }]);
    await expect(c.readSecret('booking_api_token')).resolves.toMatchObject({ value: 'CANARY-sdk-value' });
    expect(calls).toHaveLength(3);
  });

  it('retries 502, 503 and 504', async () => {
    const { client: c, calls } = client([{ status: 503, body: { error: { code: 'audit_unavailable', message: 'audit down' } } }, { status: 502, body: {} }, { status: 200, body: value }]);
    await expect(c.readSecret('booking_api_token')).resolves.toMatchObject({ version: 1 });
    expect(calls).toHaveLength(3);
  });

  it('gives up after the bound with VaultUnreachable naming the cause, never the key', async () => {
    const { client: c, calls } = client(['network']);
    const error = await c.readSecret('booking_api_token', 'booking').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultUnreachable);
    expect(error).toBeInstanceOf(SecretsError);
    expect(error).not.toBeInstanceOf(SecretNotFound);
    expect(error).toMatchObject({ name: 'VaultUnreachable', reason: 'network', code: 'unreachable', secret: 'booking_api_token', agent: 'booking' });
    expect((error as Error).message).toBe('cannot reach agent-secrets at http://vault.test (ECONNRESET) after 3 attempts; is it running, and is AGENT_SECRETS_URL right?');
    expect(calls).toHaveLength(3);
  });

  it('times out each attempt and reports a timeout', async () => {
    const { client: c, calls } = client(['hang'], { timeoutMs: 30, attempts: 2 });
    const error = await c.readSecret('booking_api_token').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'VaultUnreachable', reason: 'timeout' });
    expect((error as Error).message).toContain('did not answer within 30 ms (2 attempts)');
    expect(calls).toHaveLength(2);
  });

  it.each([
    [404, 'SecretNotFound', SecretNotFound],
    [403, 'MissingAccess', MissingAccess],
    [401, 'unauthenticated', SecretsError],
    [403, 'vault_not_enabled', SecretsError],
    [400, 'invalid_input', SecretsError],
  ])('never retries a %i %s, and throws its class', async (status, code, type) => {
    const { client: c, calls } = client([{ status, body: { error: { code, message: `server says ${code}` } } }]);
    const error = await c.readSecret('x_secret', 'booking').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, status, message: `server says ${code}`, secret: 'x_secret', agent: 'booking' });
    expect(calls).toHaveLength(1);
  });

  it('does not retry a 500 (a bug does not heal by asking again)', async () => {
    const { client: c, calls } = client([{ status: 500, body: { error: { code: 'internal', message: 'boom' } } }]);
    await expect(c.readSecret('x')).rejects.toMatchObject({ code: 'internal', status: 500 });
    expect(calls).toHaveLength(1);
  });

  it('asks the service on every call: no cache', async () => {
    const { client: c, calls } = client([{ status: 200, body: value }]);
    await c.readSecret('booking_api_token');
    await c.readSecret('booking_api_token');
    expect(calls).toHaveLength(2);
  });

  it('refuses a key with spaces before sending it (the HTTP client would quote it)', async () => {
    const bad = runtimeClient({ agentKey: 'ask_x y', url: 'http://vault.test', fetch: scriptedFetch([]).fake });
    const error = await bad.readSecret('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unauthenticated' });
    expect((error as Error).message).not.toContain('ask_x y');
  });

  it('encodes the secret name into the path', async () => {
    const { client: c, calls } = client([{ status: 200, body: value }]);
    await c.readSecret('a/../b?c');
    expect(calls[0]).toBe('http://vault.test/runtime/v1/secrets/a%2F..%2Fb%3Fc');
  });
});

describe('conv object', () => {
  it('masks read values in conv.log and hands out a fresh object for key/value secrets', async () => {
    const { fake } = scriptedFetch([{ status: 200, body: { name: 'oauth', kind: 'kv', version: 1, value: { client_id: 'CANARY-id', client_secret: 'CANARY-secret' } } }]);
    const entries: LogEntry[] = [];
    const conv = buildConv({ client: runtimeClient({ agentKey: KEY, url: 'http://vault.test', fetch: fake }), agent: 'booking', account: 'default', env: 'sandbox', masker: new Masker(), logSink: (entry) => entries.push(entry) });
    const first = await conv.utils.get_secret<Record<string, string>>('oauth');
    first.client_id = 'changed';
    expect(await conv.utils.getSecret('oauth')).toEqual({ client_id: 'CANARY-id', client_secret: 'CANARY-secret' });
    conv.log.warning('token CANARY-secret', { id: 'CANARY-id', n: 1n, error: new Error('with CANARY-secret') });
    expect(entries).toEqual([{ level: 'warning', message: 'token ***', fields: '{"id":"***","n":"1","error":{"name":"Error","message":"with ***"}}' }]);
    expect(Object.isFrozen(conv)).toBe(true);
  });

  it('createConv fails early with VaultUnreachable when the service is down', async () => {
    const port = await closedPort();
    await expect(createConv({ agentKey: KEY, url: `http://127.0.0.1:${port}`, backoffMs: 1 })).rejects.toMatchObject({ name: 'VaultUnreachable', reason: 'network' });
  });
});

describe.each(DATABASES)('SDK core read path on %s', (kind) => {
  let h: Harness;
  let booking: { key: string };

  beforeAll(async () => {
    h = await startHarness(kind);
    booking = await h.agentWithKey(h.admin.token, 'booking');
    await h.agentWithKey(h.admin.token, 'support');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'stripe_api_key', value: 'CANARY-db-v1', agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'oauth_client', value: { client_id: 'cid-1', client_secret: 'CANARY-db-kv' }, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'support_key', value: 'CANARY-db-support', agents: ['support'] } });
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain('CANARY');
    await h?.close();
  });

  it('reads, refuses, suggests, and sees a rotation and a revocation at the next call', async () => {
    const logged: LogEntry[] = [];
    // conv.env is the key's environment (SPEC S21); `env` is only checked against it.
    await expect(createConv({ agentKey: booking.key, url: h.url, env: 'pre-release' })).rejects.toMatchObject({ code: 'environment_mismatch', message: expect.stringContaining('is a live key') });
    const conv = await createConv({ agentKey: booking.key, url: h.url, env: 'live', logSink: (entry) => logged.push(entry) });
    expect([conv.agent, conv.account, conv.env]).toEqual(['booking', 'default', 'live']);
    expect(await conv.utils.get_secret('stripe_api_key')).toBe('CANARY-db-v1');
    expect(await conv.utils.get_secret('oauth_client')).toEqual({ client_id: 'cid-1', client_secret: 'CANARY-db-kv' });

    await expect(conv.utils.get_secret('support_key')).rejects.toMatchObject({ name: 'MissingAccess', secret: 'support_key', agent: 'booking' });
    await expect(conv.utils.get_secret('Stripe_Api_Key')).rejects.toMatchObject({ name: 'SecretNotFound', suggestion: 'stripe_api_key' });
    await expect(conv.utils.get_secret('support_kye')).rejects.toMatchObject({ name: 'SecretNotFound', suggestion: undefined });

    await h.call('PATCH', '/api/v1/secrets/stripe_api_key', { token: h.admin.token, body: { value: 'CANARY-db-v2' } });
    expect(await conv.utils.get_secret('stripe_api_key')).toBe('CANARY-db-v2');
    await h.call('PUT', '/api/v1/secrets/stripe_api_key/access', { token: h.admin.token, body: { agents: [] } });
    await expect(conv.utils.get_secret('stripe_api_key')).rejects.toBeInstanceOf(MissingAccess);
    await h.call('DELETE', '/api/v1/secrets/oauth_client', { token: h.admin.token });
    await expect(conv.utils.get_secret('oauth_client')).rejects.toBeInstanceOf(SecretNotFound);

    conv.log.info('values CANARY-db-v1 CANARY-db-v2 CANARY-db-kv cid-1');
    expect(logged[0]?.message).toBe('values *** *** *** ***');
    expect((await conv.utils.list_secrets()).map((secret) => secret.name)).toEqual([]);
  });
});
