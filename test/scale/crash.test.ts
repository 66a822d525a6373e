/**
 * Crash safety: `kill -9` of the server at a random moment during concurrent writes and reads, then a
 * restart on the same storage. Every acknowledged write is there, every stored version still opens,
 * the audit chain verifies, and no read was answered without its audit event.
 *
 *   CRASH_ROUNDS=10 npx vitest run test/scale/crash.test.ts    # the heavier variant
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAdminToken, startServe, type ServeProcess } from '../support/processes.js';
import { DATABASES, freshStorage, type TestStorage } from '../support/stores.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

interface Call {
  status: number;
  body: Record<string, any>;
}

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<Call | undefined> {
  try {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  } catch {
    return undefined; // the server died with this request in flight: not acknowledged
  }
}

function exited(server: ServeProcess): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

describe.each(DATABASES)('kill -9 during writes and reads on %s', (kind) => {
  let storage: TestStorage | undefined;
  let dir: string;
  let args: string[];
  let server: ServeProcess;
  let admin = '';
  let agentKey = '';
  const env = { AGENT_SECRETS_MASTER_KEY: MASTER_KEY };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-crash-'));
    if (kind === 'postgres') storage = await freshStorage('postgres');
    args = kind === 'postgres' ? ['--database-url', storage?.where ?? ''] : ['--data', join(dir, 'data')];
    server = await startServe(args, { env });
    // Without a terminal the first start shows no credentials (SPEC S20): the operator's way in.
    admin = await firstAdminToken(server.url, args, { env });
    await call(server.url, 'POST', '/api/v1/agents', admin, { name: 'reader' });
    agentKey = (await call(server.url, 'POST', '/api/v1/agents/reader/keys', admin, {}))?.body.key as string;
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged write and answers no read without its audit event, over ${ROUNDS} crashes`, { timeout: 120_000 }, async () => {
    /** secret name → the newest value whose write was acknowledged, with its version. */
    const acknowledged = new Map<string, { version: number; value: string }>();
    const answeredReads = new Map<string, number>();
    const totalReads = () => [...answeredReads.values()].reduce((a, b) => a + b, 0);
    let sequence = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const url = server.url;
      let running = true;
      const writer = async (worker: number) => {
        while (running) {
          const n = ++sequence;
          const name = `s_${worker}_${n % 7}`;
          const value = `value-${n}-${'x'.repeat(n % 50)}`;
          const known = acknowledged.get(name);
          const r = known
            ? await call(url, 'PATCH', `/api/v1/secrets/${name}`, admin, { value })
            : await call(url, 'POST', '/api/v1/secrets', admin, { name, value, agents: ['reader'] });
          if (r?.status === 200 || r?.status === 201) acknowledged.set(name, { version: r.body.version as number, value });
          if (!r) return;
        }
      };
      const reader = async () => {
        while (running) {
          const names = [...acknowledged.keys()];
          const name = names[Math.floor(Math.random() * names.length)];
          if (!name) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          const r = await call(url, 'GET', `/runtime/v1/secrets/${name}`, agentKey);
          if (r?.status === 200) answeredReads.set(name, (answeredReads.get(name) ?? 0) + 1);
          if (!r) return;
        }
      };
      const load = Promise.all([writer(1), writer(2), writer(3), reader(), reader(), reader()]);
      // A random moment once this round has answered some reads: on a busy machine a fixed window may
      // see none, and a crash with nothing in flight proves nothing.
      const readsBefore = totalReads();
      const started = Date.now();
      while (totalReads() - readsBefore < 5 && Date.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
      server.child.kill('SIGKILL');
      running = false;
      await load;
      await exited(server);
      server = await startServe(args, { env });
    }
    expect(acknowledged.size).toBeGreaterThan(3);
    expect(totalReads()).toBeGreaterThanOrEqual(5 * ROUNDS);

    // Every acknowledged write is there, at its version or a later one, and every version opens.
    for (const [name, { version, value }] of acknowledged) {
      const secret = await call(server.url, 'GET', `/api/v1/secrets/${name}`, admin);
      expect(secret?.status, name).toBe(200);
      expect(secret?.body.version).toBeGreaterThanOrEqual(version);
      const revealed = await call(server.url, 'POST', `/api/v1/secrets/${name}/reveal`, admin, { version });
      expect(revealed?.body.value, `${name} v${version}`).toBe(value);
      const versions = (await call(server.url, 'GET', `/api/v1/secrets/${name}/versions`, admin))?.body.versions as Array<{ version: number }>;
      for (const v of versions) expect((await call(server.url, 'POST', `/api/v1/secrets/${name}/reveal`, admin, { version: v.version }))?.status).toBe(200);
    }

    // No read was answered without its audit event.
    for (const [name, answered] of answeredReads) {
      const events = (await call(server.url, 'GET', `/api/v1/audit?secret=${name}&action=secret.read&outcome=success&limit=1000`, admin))?.body.events as unknown[];
      expect(events.length, name).toBeGreaterThanOrEqual(answered);
    }
    const verify = await call(server.url, 'GET', '/api/v1/audit/verify', admin);
    expect(verify?.body).toMatchObject({ ok: true, firstBroken: null });
  });
});
