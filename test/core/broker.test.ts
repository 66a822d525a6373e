import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';
import { reflect, startUpstream, type Upstream } from '../support/upstream.js';

const CANARY = 'CANARY-broker-a41c0e';
const STRIPE = `sk_live_${CANARY}-stripe`;
const CLIENT_SECRET = `${CANARY}-client/secret+&=`;

describe.each(DATABASES)('brokered requests through POST /runtime/v1/requests (S26) on %s', (kind) => {
  let h: Harness;
  let upstream: Upstream;
  let admin: string;
  let booking: { id: string; key: string };
  let allowed: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    h = await startHarness(kind, { broker: { allowPrivate: true }, limits: { brokeredRequestsPerSecond: 20 } });
    admin = h.admin.token;
    booking = await h.agentWithKey(admin, 'booking');
    allowed = `127.0.0.1:${upstream.port}`;
    const create = async (body: Record<string, unknown>) => {
      const made = await h.call('POST', '/api/v1/secrets', { token: admin, body: { agents: ['booking'], allowedHosts: [allowed], ...body } });
      if (made.status !== 201) throw new Error(JSON.stringify(made.body));
    };
    await create({ name: 'stripe', value: STRIPE, delivery: 'broker-only' });
    await create({ name: 'oauth', value: { client_id: 'my-client', client_secret: CLIENT_SECRET } });
    await create({ name: 'elsewhere', value: `${CANARY}-elsewhere`, allowedHosts: ['api.example.com'] });
    await create({ name: 'nowhere', value: `${CANARY}-nowhere`, allowedHosts: [] });
    await create({ name: 'not_granted', value: `${CANARY}-ng`, agents: [] });
    await create({ name: 'multiline', value: `${CANARY}-line\r\nX-Injected: 1` });
    await create({ name: 'control', value: `${CANARY}-bell\u0007` });
    await create({ name: 'dotted.name', value: `${CANARY}-dotted` });
  });
  afterAll(async () => {
    expect(h.logLines.join('\n')).not.toContain(CANARY);
    await h?.close();
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.handle = reflect;
    upstream.seen.length = 0;
  });

  const broker = (body: Record<string, unknown>, key = booking.key) => h.call('POST', '/runtime/v1/requests', { token: key, body });
  const url = (path: string) => `http://${allowed}${path}`;
  const uses = async (secret: string) =>
    ((await h.call('GET', `/api/v1/audit?secret=${secret}&action=secret.use`, { token: admin })).body.events as Array<{ outcome: string; agent: string; detail: any }>);

  it('fills placeholders in the query, header values and body, and scrubs them from the reflected answer', async () => {
    const answer = await broker({
      method: 'post',
      url: url('/v1/charges?key={{secret:stripe}}&id={{secret:oauth.client_id}}'),
      headers: { authorization: 'Bearer {{secret:stripe}}', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_secret={{secret:oauth.client_secret}}',
    });
    expect(answer.status).toBe(200);
    const seen = upstream.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.headers.authorization).toBe(`Bearer ${STRIPE}`);
    // URL-encoded in the query, so that "&" or "=" in a value cannot add a parameter.
    expect(new URL(seen.url, 'http://x').searchParams.get('key')).toBe(STRIPE);
    expect(new URL(seen.url, 'http://x').searchParams.get('id')).toBe('my-client');
    // Form-encoded in a form body: the "+", "&" and "=" of the value stay part of it.
    expect(new URLSearchParams(seen.body).get('client_secret')).toBe(CLIENT_SECRET);
    expect(new URLSearchParams(seen.body).get('grant_type')).toBe('client_credentials');
    expect(answer.body.bodyEncoding).toBe('utf8');
    expect(JSON.stringify(answer.body)).not.toContain(CANARY);
    const reflected = JSON.parse(answer.body.body);
    expect(reflected.headers.authorization).toBe('Bearer ***');
  });

  it('scrubs values the upstream reflects raw, base64, URL- and JSON-encoded, in headers and body', async () => {
    upstream.handle = (_request, response) => {
      const forms = [STRIPE, Buffer.from(STRIPE).toString('base64'), Buffer.from(`user:${STRIPE}`).toString('base64'), encodeURIComponent(CLIENT_SECRET), JSON.stringify(CLIENT_SECRET).slice(1, -1)];
      response.setHeader('x-raw', STRIPE);
      response.setHeader('x-b64', Buffer.from(STRIPE).toString('base64'));
      response.setHeader('set-cookie', [`s=${encodeURIComponent(CLIENT_SECRET)}`, 'plain=1']);
      response.end(forms.join('\n'));
    };
    const answer = await broker({ method: 'GET', url: url('/reflect'), headers: { authorization: 'Bearer {{secret:stripe}}', 'x-client': '{{secret:oauth.client_secret}}' } });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.body)).not.toContain(CANARY);
    expect(JSON.stringify(answer.body)).not.toContain(Buffer.from(STRIPE).toString('base64').slice(4, 20));
    expect(answer.body.headers['x-raw']).toBe('***');
    expect(answer.body.headers['set-cookie']).toEqual(['s=***', 'plain=1']);
    expect(answer.body.body.split('\n').every((line: string) => line.includes('***'))).toBe(true);
    const events = await uses('stripe');
    expect(events[0]).toMatchObject({ outcome: 'success', agent: 'booking', detail: { host: allowed, method: 'GET', path: '/reflect', status: 200, scrubbed: true } });
    expect(typeof events[0]!.detail.durationMs).toBe('number');
  });

  it('scrubs a non-ASCII value sent in a header when the upstream echoes its Latin-1 bytes', async () => {
    const latin1 = `${CANARY}-pässwörd`;
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'latin1', value: latin1, agents: ['booking'], allowedHosts: [allowed], delivery: 'broker-only' } });
    upstream.handle = (request, response) => {
      response.setHeader('x-echo', request.headers['x-key'] as string);
      response.end(Buffer.from(`key=${request.headers['x-key'] as string}`, 'latin1'));
    };
    const answer = await broker({ method: 'GET', url: url('/latin1'), headers: { 'x-key': '{{secret:latin1}}' } });
    expect(upstream.seen[0]!.rawHeaders).toContain(Buffer.from(latin1, 'latin1').toString('latin1'));
    expect(answer.body).toMatchObject({ bodyEncoding: 'utf8', body: 'key=***' });
    expect(answer.body.headers['x-echo']).toBe('***');
    expect(JSON.stringify(answer.body)).not.toContain(CANARY);
  });

  it('refuses to broker a broker-only value too short to be scrubbed from the answer: 400 naming the field, nothing sent, audited', async () => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'short_pin', value: '7q2', agents: ['booking'], allowedHosts: [allowed], delivery: 'broker-only' } });
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'short_kv', value: { user: 'CANARY-long-user', pin: 'z9' }, agents: ['booking'], allowedHosts: [allowed], delivery: 'broker-only' } });
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'short_value', value: 'k4x', agents: ['booking'], allowedHosts: [allowed] } });
    const refused = await broker({ method: 'POST', url: url('/short'), headers: { 'x-pin': '{{secret:short_pin}}' }, body: 'echo' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_input', field: 'headers.x-pin', message: expect.stringContaining('too short to be kept out of the answer') });
    expect(JSON.stringify(refused.body)).not.toContain('7q2');
    const key = await broker({ method: 'POST', url: url('/short'), headers: { 'content-type': 'text/plain' }, body: '{{secret:short_kv.user}} {{secret:short_kv.pin}}' });
    expect(key.body.error).toMatchObject({ code: 'invalid_input', field: 'body' });
    expect(upstream.seen.length).toBe(0);
    expect((await uses('short_pin'))[0]).toMatchObject({ outcome: 'denied', detail: { reason: 'value_too_short' } });
    // A "value" secret's value the function may read anyway: sent as before.
    expect((await broker({ method: 'GET', url: url('/short'), headers: { 'x-pin': '{{secret:short_value}}' } })).status).toBe(200);
    expect(upstream.seen[0]!.headers['x-pin']).toBe('k4x');
  });

  it('a JSON body gets the value JSON-escaped, a text body as it is', async () => {
    await h.call('POST', '/api/v1/secrets', { token: admin, body: { name: 'quoted', value: `${CANARY}-"quoted"\\`, agents: ['booking'], allowedHosts: [allowed] } });
    await broker({ method: 'POST', url: url('/json'), headers: { 'content-type': 'application/json' }, body: '{"key":"{{secret:quoted}}","n":1}' });
    expect(JSON.parse(upstream.seen[0]!.body)).toEqual({ key: `${CANARY}-"quoted"\\`, n: 1 });
    await broker({ method: 'POST', url: url('/text'), headers: { 'content-type': 'text/plain' }, body: 'key={{secret:quoted}}' });
    expect(upstream.seen[1]!.body).toBe(`key=${CANARY}-"quoted"\\`);
  });

  it('a binary answer comes back base64, scrubbed', async () => {
    upstream.handle = (_request, response) => response.end(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(STRIPE)]));
    const answer = await broker({ method: 'GET', url: url('/bin'), headers: { authorization: '{{secret:stripe}}' } });
    expect(answer.body.bodyEncoding).toBe('base64');
    const bytes = Buffer.from(answer.body.body, 'base64');
    expect(bytes.includes(Buffer.from(CANARY))).toBe(false);
    expect(bytes.subarray(3).toString()).toBe('***');
  });

  it('audits the path without its query, where a value may sit', async () => {
    await broker({ method: 'GET', url: url('/q?token={{secret:oauth.client_secret}}') });
    const [event] = await uses('oauth');
    expect(event!.detail.path).toBe('/q');
    expect(JSON.stringify(event)).not.toContain(CANARY);
  });

  it('a value the function also holds, written into the path, is scrubbed from the audit trail too', async () => {
    const held = (await h.call('GET', '/runtime/v1/secrets/oauth', { token: booking.key })).body.value.client_secret as string;
    await broker({ method: 'GET', url: url(`/leak/${encodeURIComponent(held)}`), headers: { a: '{{secret:oauth.client_secret}}' } });
    const [event] = await uses('oauth');
    expect(event!.detail.path).toBe('/leak/***');
  });

  it('drops an answer header whose name holds a used value, whatever its case', async () => {
    upstream.handle = (request, response) => {
      response.setHeader(`x-${request.headers.a as string}`, 'yes');
      response.setHeader(`x-${(request.headers.a as string).toUpperCase()}-2`, 'yes');
      response.setHeader('x-kept', 'yes');
      response.end('ok');
    };
    const answer = await broker({ method: 'GET', url: url('/names'), headers: { a: '{{secret:stripe}}' } });
    expect(answer.body.headers['x-kept']).toBe('yes');
    expect(JSON.stringify(answer.body).toLowerCase()).not.toContain(CANARY.toLowerCase());
    expect((await uses('stripe'))[0]).toMatchObject({ outcome: 'success', detail: { scrubbed: true } });
  });

  it('a value the function also holds, written into the host, is scrubbed from the refusal and its audit event, whatever its case', async () => {
    const held = (await h.call('GET', '/runtime/v1/secrets/dotted.name', { token: booking.key })).body.value as string;
    const refused = await broker({ method: 'GET', url: `https://${held.toUpperCase()}.invalid/x`, headers: { a: '{{secret:dotted.name}}' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('HostNotAllowed');
    expect(refused.body.error.message).toContain('"***.invalid"');
    const [event] = await uses('dotted.name');
    expect(event).toMatchObject({ outcome: 'denied', detail: { host: '***.invalid', reason: 'host_not_allowed' } });
    expect(JSON.stringify(event).toLowerCase()).not.toContain(CANARY.toLowerCase());
    // Refused before every placeholder was filled (a secret it may not read), too.
    await broker({ method: 'GET', url: `https://${held}.invalid/x`, headers: { a: '{{secret:dotted.name}}', b: '{{secret:not_granted}}' } });
    expect(JSON.stringify((await uses('dotted.name'))[0]).toLowerCase()).not.toContain(CANARY.toLowerCase());
  });

  it('refuses a host a used secret does not allow: 403 HostNotAllowed, nothing sent, audited', async () => {
    const refused = await broker({ method: 'GET', url: url('/x'), headers: { authorization: '{{secret:elsewhere}}' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('HostNotAllowed');
    expect(refused.body.error.message).toContain('"elsewhere"');
    expect(upstream.seen.length).toBe(0);
    expect((await uses('elsewhere'))[0]).toMatchObject({ outcome: 'denied', detail: { reason: 'host_not_allowed', host: allowed } });
  });

  it('a request using several secrets must be allowed by each of them', async () => {
    const refused = await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:stripe}}', b: '{{secret:elsewhere}}' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('"elsewhere"');
    expect(refused.body.error.message).not.toContain('"stripe"');
    expect(upstream.seen.length).toBe(0);
    expect((await uses('stripe'))[0]).toMatchObject({ outcome: 'denied', detail: { reason: 'request_refused' } });
  });

  it('a secret without allowed hosts cannot be brokered', async () => {
    const refused = await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:nowhere}}' } });
    expect(refused.body.error.code).toBe('HostNotAllowed');
    expect(upstream.seen.length).toBe(0);
  });

  it('lookalike URLs are judged as the parser reads them, and refused', async () => {
    for (const target of [`http://${allowed}@evil.example/`, `http://127.0.0.1.evil.example:${upstream.port}/`, `http://127.0.0.2:${upstream.port}/`, `http://localhost:${upstream.port}/`]) {
      const refused = await broker({ method: 'GET', url: target, headers: { a: '{{secret:stripe}}' } });
      expect([400, 403]).toContain(refused.status);
    }
    expect(upstream.seen.length).toBe(0);
  });

  it('MissingAccess and SecretNotFound as for get_secret, audited as uses, nothing sent', async () => {
    const missing = await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:not_granted}}' } });
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('MissingAccess');
    const unknown = await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:strpe}}' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SecretNotFound');
    expect(unknown.body.error.message).toContain('Did you mean "stripe"');
    expect(upstream.seen.length).toBe(0);
    expect((await uses('not_granted'))[0]).toMatchObject({ outcome: 'denied' });
    expect((await uses('strpe'))[0]).toMatchObject({ outcome: 'not_found' });
  });

  it('a dotted name is read as a whole secret first', async () => {
    const answer = await broker({ method: 'GET', url: url('/d'), headers: { a: '{{secret:dotted.name}}' } });
    expect(answer.status).toBe(200);
    expect(upstream.seen[0]!.headers.a).toBe(`${CANARY}-dotted`);
  });

  const up = (path: string) => `http://UP${path}`;
  it.each([
    ['a placeholder in the path', { url: up('/{{secret:stripe}}') }, 'url'],
    ['a placeholder in the host', { url: 'http://{{secret:stripe}}.example/' }, 'url'],
    ['no placeholder at all (an open proxy)', { url: up('/x') }, 'url'],
    ['an unclosed placeholder', { url: up('/x'), headers: { a: '{{secret:stripe' } }, 'headers.a'],
    ['a key/value secret without a key', { url: up('/x'), headers: { a: '{{secret:oauth}}' } }, 'headers.a'],
    ['a key it does not have', { url: up('/x'), headers: { a: '{{secret:oauth.nope}}' } }, 'headers.a'],
    ['a single value with a key', { url: up('/x'), headers: { a: '{{secret:stripe.key}}' } }, 'headers.a'],
    ['a value with a line break in a header', { url: up('/x'), headers: { a: '{{secret:multiline}}' } }, 'headers.a'],
    ['a value with another control character in a header', { url: up('/x'), headers: { a: '{{secret:control}}' } }, 'headers.a'],
    ['a header with a control character', { url: up('/?{{secret:stripe}}'), headers: { a: 'x\u007f' } }, 'headers.a'],
    ['a user and password in the URL', { url: 'http://u:{{secret:stripe}}@UP/' }, 'url'],
    ['another scheme', { url: 'ftp://example.com/?{{secret:stripe}}' }, 'url'],
    ['an unknown method', { method: 'CONNECT', url: up('/?{{secret:stripe}}') }, 'method'],
    ['a timeout over 30 s', { url: up('/?{{secret:stripe}}'), timeoutMs: 30_001 }, 'timeoutMs'],
    ['a header with a line break', { url: up('/?{{secret:stripe}}'), headers: { a: 'x\r\nb: y' } }, 'headers.a'],
    ['an unknown field', { url: up('/?{{secret:stripe}}'), follow: true }, 'body'],
  ])('400 for %s, naming the field, nothing sent', async (_what, body, field) => {
    // The table is written before the upstream listens: UP stands for its host and port.
    const refused = await broker(JSON.parse(JSON.stringify({ method: 'GET', ...body }).replaceAll('UP', allowed)));
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe(field);
    expect(JSON.stringify(refused.body)).not.toContain(CANARY);
    expect(upstream.seen.length).toBe(0);
  });

  it('a request naming too many different secrets is refused before it costs a query per name', async () => {
    const body = Array.from({ length: 40 }, (_, i) => `{{secret:missing_${i}}}`).join(' ');
    const refused = await broker({ method: 'POST', url: url('/many'), body });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ field: 'body', message: expect.stringContaining('at most 20 different placeholders') });
    // A dotted name is read several ways, each a lookup: bounded too.
    const dotted = await broker({ method: 'POST', url: url('/dots'), body: `{{secret:${Array.from({ length: 64 }, () => 'a').join('.')}}}` });
    expect(dotted.status).toBe(400);
    expect(dotted.body.error.message).toContain('at most 32 different secrets');
    expect(upstream.seen.length).toBe(0);
  });

  it('a request holding too many placeholders (repeats counted) is refused with 400 naming the field, not a 500', async () => {
    const huge = await broker({ method: 'POST', url: url('/huge'), body: '{{secret:stripe}}'.repeat(200_000) });
    expect(huge.status).toBe(400);
    expect(huge.body.error).toMatchObject({ code: 'invalid_input', field: 'body', message: expect.stringContaining('at most 1000 placeholders') });
    const justOver = await broker({ method: 'POST', url: url('/over?k={{secret:stripe}}'), body: '{{secret:stripe}}'.repeat(1000) });
    expect(justOver.body.error).toMatchObject({ field: 'body' });
    expect(upstream.seen.length).toBe(0);
    expect((await broker({ method: 'POST', url: url('/many'), headers: { 'content-type': 'text/plain' }, body: '{{secret:stripe}}'.repeat(1000) })).status).toBe(200);
  });

  it('a redirect is answered, not followed, its Location scrubbed', async () => {
    upstream.handle = (_request, response) => {
      response.writeHead(302, { location: `https://evil.example/?leak=${encodeURIComponent(STRIPE)}` });
      response.end();
    };
    const answer = await broker({ method: 'GET', url: url('/r'), headers: { a: '{{secret:stripe}}' } });
    expect(answer.body.status).toBe(302);
    expect(answer.body.headers.location).toBe('https://evil.example/?leak=***');
    expect(upstream.seen.length).toBe(1);
  });

  it('a slow upstream times out with UpstreamTimeout while granted get_secret reads stay fast', async () => {
    upstream.handle = () => undefined;
    const pending = broker({ method: 'GET', url: url('/slow'), headers: { a: '{{secret:stripe}}' }, timeoutMs: 1500 });
    const started = Date.now();
    const slowest = [];
    while (Date.now() - started < 1000) {
      const before = performance.now();
      const read = await h.call('GET', '/runtime/v1/secrets/oauth', { token: booking.key });
      expect(read.status).toBe(200);
      slowest.push(performance.now() - before);
    }
    expect(Math.max(...slowest)).toBeLessThan(250);
    const timedOut = await pending;
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.code).toBe('UpstreamTimeout');
    expect((await uses('stripe'))[0]).toMatchObject({ outcome: 'failed', detail: { reason: 'timeout' } });
  });

  it('an unreachable upstream is 502 UpstreamUnreachable', async () => {
    const gone = await startUpstream();
    await gone.close();
    await h.call('PATCH', '/api/v1/secrets/oauth', { token: admin, body: { allowedHosts: [allowed, `127.0.0.1:${gone.port}`] } });
    const refused = await broker({ method: 'GET', url: `http://127.0.0.1:${gone.port}/`, headers: { a: '{{secret:oauth.client_id}}' } });
    expect(refused.status).toBe(502);
    expect(refused.body.error.code).toBe('UpstreamUnreachable');
  });

  it('allowed hosts hold from the next call', async () => {
    await h.call('PATCH', '/api/v1/secrets/oauth', { token: admin, body: { allowedHosts: ['api.example.com'] } });
    expect((await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:oauth.client_id}}' } })).body.error.code).toBe('HostNotAllowed');
    await h.call('PATCH', '/api/v1/secrets/oauth', { token: admin, body: { allowedHosts: [allowed] } });
    expect((await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:oauth.client_id}}' } })).status).toBe(200);
  });

  it('brokered requests have their own rate limit per key, apart from reads', async () => {
    const busy = await h.agentWithKey(admin, 'busy');
    await h.call('PUT', '/api/v1/secrets/oauth/access', { token: admin, body: { agents: ['booking', 'busy'] } });
    const statuses = await Promise.all(Array.from({ length: 90 }, () => broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:oauth.client_id}}' } }, busy.key).then((r) => r.status)));
    expect(statuses).toContain(429);
    expect((await h.call('GET', '/runtime/v1/secrets/oauth', { token: busy.key })).status).toBe(200);
  });

  it("sends the value the key's environment reads (S22): a sandbox key the sandbox override, a live key the default, and each use says its environment", async () => {
    const sandboxValue = `${CANARY}-sandbox-override`;
    const set = await h.call('PATCH', '/api/v1/secrets/oauth', { token: admin, body: { environment: 'sandbox', valueKeys: { client_secret: sandboxValue } } });
    expect(set.status).toBe(200);
    const made = await h.call('POST', `/api/v1/agents/${booking.id}/keys`, { token: admin, body: { name: 'sandbox', environment: 'sandbox' } });
    expect(made.status).toBe(201);
    const send = (key: string) => broker({ method: 'POST', url: url('/token'), headers: { 'content-type': 'text/plain' }, body: '{{secret:oauth.client_secret}}' }, key);
    expect((await send(made.body.key)).status).toBe(200);
    expect((await send(booking.key)).status).toBe(200);
    expect(upstream.seen.map((seen) => seen.body)).toEqual([sandboxValue, CLIENT_SECRET]);
    const [live, sandbox] = (await uses('oauth')).slice(0, 2);
    expect([sandbox!.detail.environment, live!.detail.environment]).toEqual(['sandbox', 'live']);
    // Removing the override holds from the next call: the sandbox key sends the default again.
    expect((await h.call('DELETE', '/api/v1/secrets/oauth/environments/sandbox', { token: admin })).status).toBe(200);
    expect((await send(made.body.key)).status).toBe(200);
    expect(upstream.seen[2]!.body).toBe(CLIENT_SECRET);
  });

  it('a bad agent key gets 401 and nothing is sent', async () => {
    const refused = await broker({ method: 'GET', url: url('/x'), headers: { a: '{{secret:stripe}}' } }, 'ask_nope');
    expect(refused.status).toBe(401);
    expect(upstream.seen.length).toBe(0);
  });
});
