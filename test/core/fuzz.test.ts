/**
 * Hostile input: thousands of malformed requests to every route, with and without valid
 * credentials. Only 4xx may come back, each in the documented error shape — never a 5xx, never a
 * crash, never a change to stored data, never a canary value in an answer or a log line. The
 * generator is seeded: a failure names its seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CANARY = 'CANARY-fuzz-4c8d2b';
const REQUESTS = 1500;

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

const ODD_SEGMENTS = ['..', '.', '%2e%2e', '%00', '%ZZ', '%', 'a%2Fb', ' ', '%20', 'ünïcødé', '😀', 'x'.repeat(600), '\\', 'null', 'undefined', '__proto__', 'constructor', '-1', '0', '99999999999999999999', 'agt_zzzzzzzzzzzzzzzz', 'key_0000000000000000', 'usr_0123456789abcdef', "'; drop table secrets; --", '${jndi:x}', '<script>'];

const ROUTES: Array<[method: string, path: (seg: () => string) => string]> = [
  ['GET', (s) => `/api/v1/secrets?search=${s()}&limit=${s()}&after=${s()}`],
  ['POST', () => '/api/v1/secrets'],
  ['GET', (s) => `/api/v1/secrets/${s()}`],
  ['PATCH', (s) => `/api/v1/secrets/${s()}`],
  ['DELETE', (s) => `/api/v1/secrets/${s()}`],
  ['POST', (s) => `/api/v1/secrets/${s()}/reveal`],
  ['GET', (s) => `/api/v1/secrets/${s()}/access`],
  ['PUT', (s) => `/api/v1/secrets/${s()}/access`],
  ['GET', (s) => `/api/v1/secrets/${s()}/versions`],
  ['POST', (s) => `/api/v1/secrets/${s()}/versions/${s()}/restore`],
  ['GET', () => '/api/v1/agents'],
  ['POST', () => '/api/v1/agents'],
  ['PATCH', (s) => `/api/v1/agents/${s()}`],
  ['DELETE', (s) => `/api/v1/agents/${s()}`],
  ['POST', (s) => `/api/v1/agents/${s()}/keys`],
  ['DELETE', (s) => `/api/v1/agents/${s()}/keys/${s()}`],
  ['GET', (s) => `/api/v1/agents/${s()}/secrets`],
  ['POST', () => '/api/v1/users'],
  ['PATCH', (s) => `/api/v1/users/${s()}`],
  ['DELETE', (s) => `/api/v1/users/${s()}`],
  ['POST', () => '/api/v1/tokens'],
  ['DELETE', (s) => `/api/v1/tokens/${s()}`],
  ['GET', (s) => `/api/v1/audit?since=${s()}&limit=${s()}&before=${s()}`],
  ['POST', () => '/api/v1/auth/login'],
  ['GET', (s) => `/runtime/v1/secrets/${s()}`],
  ['GET', () => '/runtime/v1/secrets'],
  ['POST', () => '/runtime/v1/requests'],
  ['GET', (s) => `/${s()}/${s()}`],
];

// Field names the routes know, so that bodies reach the validators; their values are never valid.
const FIELDS = ['name', 'value', 'agents', 'description', 'email', 'role', 'password', 'version', 'allowedHosts', 'delivery', 'reveal', 'method', 'url', 'headers', 'body', 'bodyEncoding', 'timeoutMs', '__proto__', 'constructor', 'x'];

function randomJson(r: ReturnType<typeof prng>, depth: number): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return r.pick([null, true, false, 0, -1, 1e308, -0.5, Number.MAX_SAFE_INTEGER]);
    case 1:
      return r.pick(['', ' ', 'x'.repeat(70000), '\u0000', '\ud800', CANARY.slice(0, 5), '%s%n']);
    case 2:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    case 3:
      return r.int(1000);
    case 4:
      return r.pick([[], {}, [[]], { '': '' }]);
    default: {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < 1 + r.int(4); i++) {
        // Known fields get non-string values (so no body is accidentally valid); unknown fields anything.
        const field = r.pick(FIELDS);
        object[field] = field === 'x' ? randomJson(r, depth + 1) : r.pick([null, 7, [1], { a: { b: [] } }, true, Array(200).fill('a')]);
      }
      return object;
    }
  }
}

function randomBody(r: ReturnType<typeof prng>): { body?: string | Uint8Array<ArrayBuffer>; type?: string } {
  switch (r.int(8)) {
    case 0:
      return {};
    case 1:
      return { body: '{"name": "x", ', type: 'application/json' };
    case 2:
      return { body: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), type: 'application/json' };
    case 3:
      return { body: `${'['.repeat(20000)}${']'.repeat(20000)}`, type: 'application/json' };
    case 4:
      return { body: JSON.stringify({ value: 'x'.repeat(2_000_000) }), type: 'application/json' };
    case 5:
      return { body: 'name=x&value=y', type: r.pick(['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) };
    default:
      return { body: JSON.stringify(randomJson(r, 0)), type: 'application/json' };
  }
}

async function snapshot(h: Harness): Promise<string> {
  const db = h.vault.store.db;
  const tables = ['accounts', 'users', 'personal_tokens', 'agents', 'agent_keys', 'data_keys', 'secrets', 'secret_versions', 'grants'] as const;
  const parts: unknown[] = [];
  for (const table of tables) {
    // last_read_at moves with granted reads, which the fuzzer may make legitimately.
    const rows = await db.selectFrom(table).selectAll().execute();
    parts.push(rows.map((row) => ({ ...row, last_read_at: undefined })));
  }
  return JSON.stringify(parts, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
}

describe.each(DATABASES)('fuzzing every route on %s', (kind) => {
  let h: Harness;
  let credentials: Array<string | undefined>;

  beforeAll(async () => {
    h = await startHarness(kind, { limits: { signInsPerAddressPerMinute: 1e9, signInsPerAccountPerMinute: 1e9 } });
    const agent = await h.agentWithKey(h.admin.token, 'reader');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'canary', value: CANARY, agents: ['reader'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'pair', value: { id: 'i', secret: `${CANARY}-kv` }, agents: ['reader'] } });
    credentials = [undefined, h.admin.token, agent.key, 'asp_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(5000), 'ask_zz'];
  });
  afterAll(async () => h?.close());

  it(`answers ${REQUESTS} malformed requests with 4xx only, changing nothing and leaking nothing`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const r = prng(seed);
    const before = await snapshot(h);
    const failures: string[] = [];
    const seg = () => encodeURIComponent(r.pick(ODD_SEGMENTS)).replace(/%25/g, r.next() < 0.5 ? '%' : '%25');

    for (let i = 0; i < REQUESTS; i++) {
      const [method, path] = r.pick(ROUTES);
      const url = path(seg);
      const token = r.pick(credentials);
      const { body, type } = method === 'GET' || method === 'DELETE' ? (r.next() < 0.1 ? randomBody(r) : {}) : randomBody(r);
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = r.next() < 0.9 ? `Bearer ${token}` : r.pick(['Bearer', 'Basic abc', `bearer  ${token}  `, token]);
      if (type) headers['content-type'] = type;
      if (r.next() < 0.05) headers['x-padding'] = 'p'.repeat(20_000);
      if (r.next() < 0.05) headers.cookie = `agent_secrets_session=${r.pick(['ass_x', 'a'.repeat(4000), '%00'])}`;
      let status: number;
      let text = '';
      try {
        const response = await fetch(`${h.url}${url}`, { method, headers, ...(body !== undefined && method !== 'GET' ? { body } : {}) });
        status = response.status;
        text = await response.text();
      } catch (error) {
        failures.push(`#${i} ${method} ${url.slice(0, 80)}: request failed (${(error as Error).message})`);
        continue;
      }
      const allowed = status < 500 && (status >= 400 || isLegitimateSuccess(method, url, token, h));
      if (!allowed) failures.push(`#${i} ${method} ${url.slice(0, 80)} → ${status} ${text.slice(0, 120)}`);
      if (status >= 400 && !isDocumentedError(text)) failures.push(`#${i} ${method} ${url.slice(0, 80)} → ${status} not in the documented error shape: ${text.slice(0, 120)}`);
      if (text.includes(CANARY) && !(status === 200 && url.startsWith('/runtime/v1/secrets/'))) failures.push(`#${i} leaked a value: ${method} ${url.slice(0, 80)}`);
    }

    expect(failures, `seed ${seed}`).toEqual([]);
    expect((await h.call('GET', '/healthz')).status).toBe(200);
    expect(await snapshot(h)).toBe(before);
    expect(h.logLines.join('\n')).not.toContain(CANARY);
  });
});

/** `{"error": {"code", "message", "field"?}}` and nothing else, as SPEC section 4 documents every refusal. */
function isDocumentedError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return Object.keys(body).join() === 'error' && typeof body.error?.code === 'string' && typeof body.error.message === 'string';
  } catch {
    return false;
  }
}

/**
 * The few well-formed requests a fuzzer can still make: reading lists with a valid credential, and
 * paths outside the API, which normalise to a console page.
 */
function isLegitimateSuccess(method: string, url: string, token: string | undefined, h: Harness): boolean {
  if (method !== 'GET') return false;
  if (!url.startsWith('/api/') && !url.startsWith('/runtime/')) return true;
  if (token === undefined) return false;
  return token === h.admin.token || url.startsWith('/runtime/v1/secrets');
}
