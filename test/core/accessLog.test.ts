/**
 * Request ids and the access log (SPEC S30's operations): every answer carries x-request-id, an
 * incoming one is kept only when short and plain, every log line of a request carries that id, and
 * `--access-log` writes one line per request naming the route template, never the path as sent.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

const CANARY = `canary${randomBytes(4).toString('hex')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const linesOf = (h: Harness) => h.logLines.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('request ids and the access log', () => {
  let logged: Harness;
  let quiet: Harness;
  let agentKey: string;
  beforeAll(async () => {
    [logged, quiet] = await Promise.all([startHarness('sqlite', { accessLog: true }), startHarness('sqlite')]);
    agentKey = (await logged.agentWithKey(logged.admin.token, 'reader')).key;
    await logged.call('POST', '/api/v1/secrets', { token: logged.admin.token, body: { name: `${CANARY}_name`, value: `${CANARY}-value`, agents: ['reader'] } });
  });
  afterAll(async () => {
    await Promise.all([logged?.close(), quiet?.close()]);
  });

  it('answers every request with an x-request-id: the caller\'s when short and plain, a fresh UUID otherwise', async () => {
    const idOf = async (headers: Record<string, string>) => (await logged.call('GET', '/healthz', { headers })).headers.get('x-request-id');
    expect(await idOf({ 'x-request-id': 'lb-7f3a.42:trace_1' })).toBe('lb-7f3a.42:trace_1');
    expect(await idOf({ 'x-request-id': 'b'.repeat(40) })).toBe('b'.repeat(40));
    for (const unsafe of ['a'.repeat(41), 'two words', 'quote"d', '{"json":1}', 'ünïcode', 'semi;colon', '']) {
      const id = await idOf({ 'x-request-id': unsafe });
      expect(id, unsafe).toMatch(UUID);
    }
    const [first, second] = [await idOf({}), await idOf({})];
    expect(first).toMatch(UUID);
    expect(second).not.toBe(first);
    // Errors and the not-found answer carry it too.
    expect((await logged.call('GET', '/no/such/route')).headers.get('x-request-id')).toMatch(UUID);
    expect((await logged.call('GET', '/runtime/v1/secrets/x')).headers.get('x-request-id')).toMatch(UUID);
  });

  it('never echoes or logs a key or token sent as the request id', async () => {
    const before = logged.logLines.length;
    for (const credential of [agentKey, logged.admin.token]) {
      const answer = await logged.call('GET', '/healthz', { headers: { 'x-request-id': credential } });
      expect(answer.headers.get('x-request-id')).toMatch(UUID);
    }
    const lines = logged.logLines.slice(before).join('\n');
    expect(lines).not.toContain(agentKey);
    expect(lines).not.toContain(logged.admin.token);
  });

  it('with the access log on: one line per request with method, route template, status and duration, under the answer\'s id, and no name or query from the path', async () => {
    const answer = await logged.call('GET', `/runtime/v1/secrets/${CANARY}_name?${CANARY}_q=${CANARY}`, { token: agentKey, headers: { 'x-request-id': 'access-log-1' } });
    expect(answer.status).toBe(200);
    await logged.call('GET', `/nothing/${CANARY}`, { headers: { 'x-request-id': 'access-log-2' } });
    const lines = linesOf(logged);
    const of = (id: string) => lines.filter((line) => line.reqId === id && line.msg === 'request');
    expect(of('access-log-1')).toHaveLength(1);
    expect(of('access-log-1')[0]).toMatchObject({ level: 30, method: 'GET', route: '/runtime/v1/secrets/:name', status: 200 });
    expect(typeof of('access-log-1')[0]?.durationMs).toBe('number');
    expect(of('access-log-2')[0]).toMatchObject({ route: '(no route)', status: 404 });
    expect(logged.logLines.join('\n')).not.toContain(CANARY);
  });

  it('gives the request\'s other log lines the same id (a stored value that fails its check)', async () => {
    const { db } = logged.vault.store;
    await db.updateTable('secret_versions').set({ ciphertext: Buffer.from(randomBytes(48)) }).execute();
    const answer = await logged.call('GET', `/runtime/v1/secrets/${CANARY}_name`, { token: agentKey, headers: { 'x-request-id': 'tampered-1' } });
    expect([answer.status, answer.headers.get('x-request-id')]).toEqual([500, 'tampered-1']);
    const lines = linesOf(logged).filter((line) => line.reqId === 'tampered-1');
    expect(lines.map((line) => line.msg)).toEqual(['stored value failed its integrity check', 'request']);
  });

  it('is off by default: no line per request', async () => {
    const before = quiet.logLines.length;
    for (let i = 0; i < 5; i++) await quiet.call('GET', '/healthz');
    await quiet.call('GET', '/api/v1/secrets', { token: quiet.admin.token });
    expect(quiet.logLines.slice(before)).toEqual([]);
  });
});
