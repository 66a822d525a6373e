/**
 * A JSON body names each key of an object once: a repeated key is refused with 400 naming it, never
 * resolved as "last one wins" (src/http/jsonKeys.ts, src/http/jsonBody.ts). Reserved key names
 * (__proto__, constructor: SPEC S1, domain/names.ts) are refused naming the key's field and the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKeyProblem } from '../../src/http/jsonKeys.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-jsonkeys-7c2a';
const NONE = (): boolean => false;

describe('findKeyProblem: the token scan of object keys', () => {
  it.each([
    ['a top-level key', '{"value":"x","environment":"live","environment":"sandbox"}', ['environment']],
    ['a key of a nested object', '{"value":{"a":"1","a":"2"}}', ['value', 'a']],
    ['a key spelled with an escape', '{"value":{"a":"1","\\u0061":"2"}}', ['value', 'a']],
    ['two keys both escaped differently', '{"\\u0041\\u0062":1,"A\\u0062":2}', ['Ab']],
    ['a key with an escaped quote', '{"a\\"b":1,"a\\u0022b":2}', ['a"b']],
    ['a key in an object inside an array', '{"list":[{"z":1},{"y":1,"y":2}]}', ['list', 1, 'y']],
    ['a key deep down, after closed siblings', '{"a":{"b":{}},"c":[[1,[2]],{"d":{"e":1,"e":2}}]}', ['c', 1, 'd', 'e']],
    ['the empty key', '{"":1,"":2}', ['']],
    ['a key after a string holding braces, commas and escaped backslashes', '{"s":"{\\"k\\":1,\\\\","k":1,"k":2}', ['k']],
    ['an object in an array at the top', '[1,{"k":1,"k":2}]', [1, 'k']],
  ])('finds %s', (_what, text, path) => {
    JSON.parse(text); // the scan only ever sees text JSON.parse has taken
    expect(findKeyProblem(text, NONE)).toEqual({ path, problem: 'repeated' });
  });

  it.each([
    ['the same key in sibling objects', '{"a":{"k":1},"b":{"k":2}}'],
    ['the same key at different depths', '{"k":{"k":{"k":1}}}'],
    ['the same key in objects of an array', '[{"k":1},{"k":2}]'],
    ['keys that differ by case or a space', '{"a":1,"A":2,"a ":3}'],
    ['a key whose name sits in a string value', '{"k":"\\"k\\":2","v":"k"}'],
    ['keys that differ by an escaped backslash', '{"a\\\\":1,"a":2}'],
    ['white space everywhere', ' { "a" : [ { "b" : 1 } , { "b" : 2 } ] , "b" : 3 } '],
    ['no object at all', '"text"'],
    ['an empty object and array', '{"a":{},"b":[]}'],
  ])('takes %s', (_what, text) => {
    JSON.parse(text);
    expect(findKeyProblem(text, NONE)).toBeUndefined();
  });

  it('stays linear where a naive scan would not: 100 000 levels deep, long backslash runs, many keys (a quadratic scan takes minutes)', () => {
    const deep = `${'{"k":['.repeat(100_000)}1${']}'.repeat(100_000)}`;
    const backslashes = JSON.stringify({ s: `${'\\'.repeat(500_000)}"${'\\'.repeat(500_000)}`, t: 1 });
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key_${i}`, 'x'.repeat(20)])));
    const started = performance.now();
    for (const text of [deep, backslashes, wide]) {
      JSON.parse(text);
      expect(findKeyProblem(text, NONE)).toBeUndefined();
    }
    // Generous for a loaded machine; a scan quadratic in any of these sizes would take far longer.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe.each(DATABASES)('repeated keys in request bodies on %s', (kind) => {
  let h: Harness;
  let admin: string;
  let agentKey: string;

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    agentKey = (await h.agentWithKey(admin, 'reader')).key;
    expect((await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 's1', value: `${CANARY}-1`, agents: ['reader'] } })).status).toBe(201);
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  const raw = (method: string, path: string, rawBody: string, token = admin) =>
    h.call(method, path, { token, rawBody, headers: { 'content-type': 'application/json' } });
  const versionsOf = async (name: string) => (await h.call('GET', `/api/v1/secrets/${name}/versions`, { token: admin })).body.versions as Array<{ environment: string | null }>;

  it('PATCH naming "environment" twice is a 400 naming environment, and no override is made', async () => {
    const answer = await raw('PATCH', '/api/v1/secrets/s1', `{"value":"${CANARY}-2","environment":"live","environment":"sandbox"}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'environment' });
    expect(answer.body.error.message).toMatch(/more than once/);
    expect(await versionsOf('s1')).toHaveLength(1);
    expect((await h.call('GET', '/api/v1/secrets/s1', { token: admin })).body.overrides).toEqual([]);
  });

  it.each([
    ['a key of the value', `{"name":"dup_a","value":{"a":"${CANARY}-1","a":"${CANARY}-2"}}`, 'value.a'],
    ['a key of the value, once escaped', `{"name":"dup_b","value":{"a":"${CANARY}-1","\\u0061":"${CANARY}-2"}}`, 'value.a'],
    ['the name', `{"name":"dup_c","value":"${CANARY}","name":"dup_c2"}`, 'name'],
  ])('POST of a secret repeating %s is a 400 naming it, and nothing is stored', async (_what, body, field) => {
    const answer = await raw('POST', '/api/v1/secrets', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field });
    const names = (await h.call('GET', '/api/v1/secrets', { token: admin })).body.secrets.map((s: { name: string }) => s.name);
    expect(names).toEqual(['s1']);
  });

  it('a PUT of the access list repeating a key deep down is a 400 naming its path, and the list stays', async () => {
    const answer = await raw('PUT', '/api/v1/secrets/s1/access', '{"agents":[],"extra":{"list":[{"k":1},{"k":1,"k":2}]}}');
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('extra.list.1.k');
    expect((await h.call('GET', '/api/v1/secrets/s1/access', { token: admin })).body.agents[0].granted).toBe(true);
  });

  it('a run-time brokered request repeating a header name is a 400 naming it', async () => {
    const answer = await raw('POST', '/runtime/v1/requests', '{"method":"GET","url":"https://api.example.com/","headers":{"x-a":"1","x-a":"{{secret:s1}}"}}', agentKey);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'headers.x-a' });
  });

  it('sign-in repeating "email" is a 400 naming it, not a sign-in as either', async () => {
    const answer = await h.call('POST', '/api/v1/auth/login', { rawBody: `{"email":"someone@example.com","email":"${h.admin.email}","password":"x"}`, headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('email');
  });

  it('a correct body still works: the same key in sibling and nested objects, escapes, white space', async () => {
    const made = await raw('POST', '/api/v1/secrets', ` { "name" : "ok_kv" , "value" : { "name" : "${CANARY}-n" , "valu\\u0065" : "${CANARY}-v" } } `);
    expect(made.status).toBe(201);
    expect(made.body.keys).toEqual(['name', 'value']);
    const set = await raw('PATCH', '/api/v1/secrets/ok_kv', `{"value":{"a":"${CANARY}-a","A2":"${CANARY}-b"},"environment":"sandbox"}`);
    expect(set.status).toBe(200);
    expect(set.body.overrides.map((o: { environment: string }) => o.environment)).toEqual(['sandbox']);
  });

  it('the run-time read, which has no body, is unchanged', async () => {
    const read = await h.call('GET', '/runtime/v1/secrets/s1', { token: agentKey });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: 's1', source: 'default' });
  });

  const RULE = '__proto__ and constructor are reserved key names';
  it.each([
    ['POST', '/api/v1/secrets', '{"name":"pk","value":{"__proto__":"tok"}}', 'value.__proto__'],
    ['POST', '/api/v1/secrets', '{"name":"pk","value":{"a":"1","\\u005f_proto__":"tok"}}', 'value.__proto__'],
    ['POST', '/api/v1/secrets', '{"name":"pk","value":{"constructor":"tok"}}', 'value.constructor'],
    ['PATCH', '/api/v1/secrets/s1', '{"value":{"__proto__":"tok"}}', 'value.__proto__'],
    ['PATCH', '/api/v1/secrets/s1', '{"value":{"ok":"1","constructor":"tok"},"environment":"sandbox"}', 'value.constructor'],
    ['PATCH', '/api/v1/secrets/s1', '{"__proto__":{"value":"x"}}', '__proto__'],
  ])('%s %s with a reserved key (%s) is a 400 naming its field and the rule, and nothing is written', async (method, path, body, field) => {
    const answer = await raw(method, path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code: 'invalid_input', field, message: `${field}: ${RULE}` });
    expect((await h.call('GET', '/api/v1/secrets/pk', { token: admin })).status).toBe(404);
    expect(await versionsOf('s1')).toHaveLength(1);
  });

  it('constructor.prototype anywhere is refused by name, as Fastify\'s parser refused it without one', async () => {
    const answer = await raw('PUT', '/api/v1/secrets/s1/access', '{"agents":[],"constructor":{"prototype":{"polluted":true}}}');
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('constructor.prototype');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await h.call('GET', '/api/v1/secrets/s1/access', { token: admin })).body.agents[0].granted).toBe(true);
  });
});
