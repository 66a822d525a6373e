/**
 * Input is taken exactly as sent or refused, never silently changed: bodies are JSON in UTF-8 with no
 * lone surrogates, an empty body is no body, and numbers in paths and queries are plain decimal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-input-51e0';

describe.each(DATABASES)('request input on %s', (kind) => {
  let h: Harness;
  let admin: string;

  beforeAll(async () => {
    h = await startHarness(kind);
    admin = h.admin.token;
    await h.agentWithKey(admin, 'reader');
    const created = await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'kept', value: `${CANARY}-1` } });
    expect(created.status).toBe(201);
    await h.call('PATCH', '/api/v1/secrets/kept', { token: admin, body: { value: `${CANARY}-2` } });
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
  });

  /** A request with the body as raw bytes, as a hostile or careless client sends it. */
  async function send(method: string, path: string, body: Uint8Array<ArrayBuffer> | string | undefined, contentType: string | undefined) {
    const headers: Record<string, string> = { authorization: `Bearer ${admin}` };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const response = await fetch(`${h.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }
  const stored = async (name: string) => (await h.call('GET', `/api/v1/secrets/${encodeURIComponent(name)}`, { token: admin })).status;
  const versionsOfKept = async () => ((await h.call('GET', '/api/v1/secrets/kept/versions', { token: admin })).body.versions as unknown[]).length;

  describe('bodies that would be stored changed', () => {
    it('refuses a body of invalid UTF-8 with 400 naming the body, and stores nothing', async () => {
      // {"name":"bad_utf8","value":"x<ff fe c3 28>y"}: bytes no UTF-8 text has.
      const bytes = Buffer.concat([Buffer.from('{"name":"bad_utf8","value":"x'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('y"}')]);
      const answer = await send('POST', '/api/v1/secrets', bytes, 'application/json');
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'body' });
      expect(answer.body.error.message).toMatch(/UTF-8/);
      expect(await stored('bad_utf8')).toBe(404);
    });

    it.each([
      ['in the value', '{"name":"lone_value","value":"x\\ud800y"}', 'lone_value'],
      ['a low half alone in the description', '{"name":"lone_desc","value":"v","description":"\\udc00"}', 'lone_desc'],
      ['in a key of a key/value secret', '{"name":"lone_key","value":{"k\\udbff":"v"}}', 'lone_key'],
      ['nested in a key/value value', '{"name":"lone_kv","value":{"k":"a\\ud83d"}}', 'lone_kv'],
      ['in an agent name of the list', '{"name":"lone_agents","value":"v","agents":["reader","\\ud800"]}', 'lone_agents'],
      ['two high halves in a row', '{"name":"lone_pair","value":"\\ud800\\ud800"}', 'lone_pair'],
    ])('refuses a lone surrogate %s with 400 naming the body, and stores nothing', async (_case, json, name) => {
      const answer = await send('POST', '/api/v1/secrets', json, 'application/json');
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'body' });
      expect(answer.body.error.message).toMatch(/surrogate/);
      expect(await stored(name)).toBe(404);
    });

    it('refuses a lone surrogate in a change and leaves the secret as it was', async () => {
      const answer = await send('PATCH', '/api/v1/secrets/kept', '{"description":"changed \\ud800"}', 'application/json');
      expect(answer.status).toBe(400);
      expect(answer.body.error.field).toBe('body');
      expect((await h.call('GET', '/api/v1/secrets/kept', { token: admin })).body.description).toBe('');
    });

    it('takes a well-formed surrogate pair, escaped or as UTF-8, and stores and answers it unchanged', async () => {
      const escaped = await send('POST', '/api/v1/secrets', '{"name":"pair_escaped","value":"x\\ud83d\\ude00y","description":"\\ud83d\\ude00"}', 'application/json');
      expect(escaped.status).toBe(201);
      expect(escaped.body.description).toBe('😀');
      const raw = await send('POST', '/api/v1/secrets', Buffer.from('{"name":"pair_raw","value":"x😀y"}', 'utf8'), 'application/json; charset=utf-8');
      expect(raw.status).toBe(201);
      for (const name of ['pair_escaped', 'pair_raw']) {
        expect((await h.call('POST', `/api/v1/secrets/${name}/reveal`, { token: admin })).body.value).toBe('x😀y');
      }
    });

    it('refuses a charset other than UTF-8 with 415 naming the body, and stores nothing', async () => {
      const latin1 = Buffer.concat([Buffer.from('{"name":"latin1","value":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
      for (const type of ['application/json; charset=iso-8859-1', 'application/json;charset="latin1"', 'application/json; charset=utf-16']) {
        const answer = await send('POST', '/api/v1/secrets', latin1, type);
        expect(answer.status, type).toBe(415);
        expect(answer.body.error).toMatchObject({ code: 'unsupported_media_type', field: 'body' });
      }
      expect(await stored('latin1')).toBe(404);
    });

    it('takes charset=utf-8 in any case, and refuses a body that is not JSON with 415 in the documented shape', async () => {
      expect((await send('POST', '/api/v1/secrets', '{"name":"utf8_upper","value":"v"}', 'application/json; charset=UTF-8')).status).toBe(201);
      expect((await send('POST', '/api/v1/secrets', '{"name":"utf8_alias","value":"v"}', 'Application/JSON;charset=utf8')).status).toBe(201);
      const text = await send('POST', '/api/v1/secrets', '{"name":"as_text","value":"v"}', 'text/plain');
      expect(text.status).toBe(415);
      expect(text.body.error).toMatchObject({ code: 'unsupported_media_type', field: 'body' });
      expect(await stored('as_text')).toBe(404);
    });
  });

  describe('an empty body with content-type application/json', () => {
    it('is taken as no body where the body is optional: an agent key is made, a value revealed', async () => {
      const key = await send('POST', '/api/v1/agents/reader/keys', '', 'application/json');
      expect(key.status).toBe(201);
      expect(key.body.key).toMatch(/^ask_/);
      const revealed = await send('POST', '/api/v1/secrets/kept/reveal', '', 'application/json');
      expect(revealed.status).toBe(200);
      expect(revealed.body.value).toBe(`${CANARY}-2`);
    });

    it('still gets 400 naming the body where the body is required, and stores nothing', async () => {
      const answer = await send('POST', '/api/v1/secrets', '', 'application/json');
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'body' });
      expect((await send('POST', '/api/v1/agents', '', 'application/json')).body.error.field).toBe('body');
    });
  });

  describe('numbers in paths, queries and bodies', () => {
    it.each(['0x1', '1e0', '%201', '1%20', '+1', '01', '1.0', '-1', '0', '99999999999'])('refuses to restore version %s with 400 stating the rule, making no version', async (version) => {
      const before = await versionsOfKept();
      const answer = await h.call('POST', `/api/v1/secrets/kept/versions/${version}/restore`, { token: admin });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'version' });
      expect(answer.body.error.message).toBe('version: must be a version number from 1 to 2147483647, in decimal digits');
      expect(await versionsOfKept()).toBe(before);
    });

    it('restores version 1 when it is written 1', async () => {
      const answer = await h.call('POST', '/api/v1/secrets/kept/versions/1/restore', { token: admin });
      expect(answer.status).toBe(200);
      expect((await h.call('POST', '/api/v1/secrets/kept/reveal', { token: admin })).body.value).toBe(`${CANARY}-1`);
    });

    it('refuses a version to reveal beyond what is stored with 400, not a database error', async () => {
      const answer = await h.call('POST', '/api/v1/secrets/kept/reveal', { token: admin, body: { version: 3_000_000_000 } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.field).toBe('version');
    });

    it.each([
      ['/api/v1/secrets?limit=0', 'limit: must be a whole number from 1 to 500, in decimal digits'],
      ['/api/v1/secrets?limit=501', 'limit: must be a whole number from 1 to 500, in decimal digits'],
      ['/api/v1/secrets?limit=0x10', 'limit: must be a whole number from 1 to 500, in decimal digits'],
      ['/api/v1/audit?limit=0', 'limit: must be a whole number from 1 to 1000, in decimal digits'],
      ['/api/v1/audit?limit=1e3', 'limit: must be a whole number from 1 to 1000, in decimal digits'],
      ['/api/v1/audit?before=0x10', 'before: must be a sequence number from 1 to 9007199254740991, in decimal digits'],
    ])('answers %s with 400 stating the real rule', async (path, message) => {
      const answer = await h.call('GET', path, { token: admin });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toBe(message);
    });

    it('takes decimal limits and cursors', async () => {
      expect((await h.call('GET', '/api/v1/secrets?limit=1', { token: admin })).body.secrets).toHaveLength(1);
      const audit = await h.call('GET', '/api/v1/audit?limit=2&before=3', { token: admin });
      expect(audit.status).toBe(200);
      expect(audit.body.events.map((event: { seq: number }) => event.seq)).toEqual([2, 1]);
    });
  });
});
