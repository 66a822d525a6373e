/**
 * SPEC S30: GET /metrics in Prometheus text format, behind its own bearer token, with counters that
 * move with reads of each outcome, and no secret name, value, key or token anywhere in it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { parsePrometheusText, valueOf, type Family } from '../support/promText.js';
import { DATABASES } from '../support/stores.js';

const CANARY = `canary${randomBytes(4).toString('hex')}`;
const METRICS_TOKEN = `metrics-${randomBytes(24).toString('base64url')}`;

describe.each(DATABASES)('GET /metrics on %s', (kind) => {
  let h: Harness;
  let reader: { key: string; name: string };
  let other: { key: string };
  beforeAll(async () => {
    h = await startHarness(kind, { metricsToken: METRICS_TOKEN, limits: { readsPerSecond: 20 } });
    reader = await h.agentWithKey(h.admin.token, `${CANARY}_agent`);
    other = await h.agentWithKey(h.admin.token, 'limited');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: `${CANARY}_granted`, value: `${CANARY}-value`, agents: [reader.name] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: `${CANARY}_kv`, value: { [`${CANARY}_key`]: `${CANARY}-kv-value` }, agents: [reader.name] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: `${CANARY}_not_granted`, value: `${CANARY}-other` } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const scrape = async (): Promise<{ text: string; families: Map<string, Family> }> => {
    const answer = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await answer.text();
    return { text, families: parsePrometheusText(text) };
  };
  const reads = (families: Map<string, Family>, outcome: string) => valueOf(families, 'agent_secrets_runtime_reads_total', 'agent_secrets_runtime_reads_total', { outcome });

  it('refuses a scrape without the token or with a wrong one (401, the error shape), and answers the right one', async () => {
    const tries: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['another token', { authorization: `Bearer ${METRICS_TOKEN}x` }],
      ['a prefix of it', { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['the token without "Bearer"', { authorization: METRICS_TOKEN }],
      ['the admin token', { authorization: `Bearer ${h.admin.token}` }],
      ['an agent key', { authorization: `Bearer ${reader.key}` }],
    ];
    for (const [what, headers] of tries) {
      const answer = await fetch(`${h.url}/metrics`, { headers });
      const body = (await answer.json()) as { error: { code: string } };
      expect(`${what}: ${answer.status} ${body.error.code}`).toBe(`${what}: 401 unauthenticated`);
    }
    expect((await scrape()).families.size).toBeGreaterThan(10);
  });

  it('counts reads by outcome, times them, and counts their audit batches', async () => {
    const before = (await scrape()).families;
    const read = (name: string, key = reader.key) => h.call('GET', `/runtime/v1/secrets/${encodeURIComponent(name)}`, { token: key });
    expect((await read(`${CANARY}_granted`)).status).toBe(200);
    expect((await read(`${CANARY}_kv`)).status).toBe(200);
    expect((await read(`${CANARY}_granted`)).status).toBe(200);
    expect((await read(`${CANARY}_missing`)).status).toBe(404);
    expect((await read(`${CANARY}_not_granted`)).status).toBe(403);
    expect((await read(`${CANARY}_granted`, `ask_${CANARY}_not_a_key`)).status).toBe(401);
    expect((await read(`${CANARY} bad name!`)).status).toBe(400);
    const after = (await scrape()).families;
    const moved = (outcome: string) => reads(after, outcome) - reads(before, outcome);
    expect({
      success: moved('success'),
      secret_not_found: moved('secret_not_found'),
      missing_access: moved('missing_access'),
      unauthenticated: moved('unauthenticated'),
      invalid_input: moved('invalid_input'),
    }).toEqual({ success: 3, secret_not_found: 1, missing_access: 1, unauthenticated: 1, invalid_input: 1 });
    const histogram = 'agent_secrets_runtime_read_duration_seconds';
    expect(valueOf(after, histogram, `${histogram}_count`) - valueOf(before, histogram, `${histogram}_count`)).toBe(7);
    expect(valueOf(after, histogram, `${histogram}_sum`)).toBeGreaterThan(valueOf(before, histogram, `${histogram}_sum`));
    // Five reads were audited (success, not found, denied); the 401 and the 400 write no event.
    const events = 'agent_secrets_audit_batch_events';
    expect(valueOf(after, events, `${events}_sum`) - valueOf(before, events, `${events}_sum`)).toBe(5);
    const commits = 'agent_secrets_audit_batch_commit_seconds';
    expect(valueOf(after, commits, `${commits}_count`) - valueOf(before, commits, `${commits}_count`)).toBe(valueOf(after, events, `${events}_count`) - valueOf(before, events, `${events}_count`));
    expect(valueOf(after, 'agent_secrets_audit_batch_failures_total', 'agent_secrets_audit_batch_failures_total')).toBe(0);
  });

  it('counts brokered requests by outcome and times them, with no host, secret or value in the labels', async () => {
    const before = (await scrape()).families;
    const send = (url: string) => h.call('POST', '/runtime/v1/requests', { token: reader.key, body: { method: 'GET', url, headers: { authorization: `Bearer {{secret:${CANARY}_granted}}` } } });
    // The secret allows no host: refused before anything is sent.
    expect((await send(`https://${CANARY}.example/charge`)).status).toBe(403);
    expect((await send(`https://${CANARY}.example/again`)).status).toBe(403);
    const after = (await scrape());
    const family = 'agent_secrets_brokered_requests_total';
    expect(valueOf(after.families, family, family, { outcome: 'host_not_allowed' }) - valueOf(before, family, family, { outcome: 'host_not_allowed' })).toBe(2);
    const histogram = 'agent_secrets_brokered_request_duration_seconds';
    expect(valueOf(after.families, histogram, `${histogram}_count`) - valueOf(before, histogram, `${histogram}_count`)).toBe(2);
    expect(after.text).not.toContain(CANARY);
  });

  it('counts reads of an account whose vault is off, rate-limited requests by route template, and sign-ins by outcome', async () => {
    const before = (await scrape()).families;
    // At once, so that the bucket (a burst of 40) runs dry however slowly the machine answers.
    const limited = (await Promise.all(Array.from({ length: 60 }, () => h.call('GET', '/runtime/v1/secrets/anything', { token: other.key })))).map((answer) => answer.status);
    const refused = limited.filter((status) => status === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: h.admin.password } })).status).toBe(200);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: `${CANARY}-wrong-password` } })).status).toBe(401);
    // An SSO sign-in for an email whose account has no SSO set up: refused, back to the sign-in page.
    const sso = await fetch(`${h.url}/api/v1/auth/sso/start?email=${CANARY}%40example.com`, { redirect: 'manual' });
    expect([sso.status, sso.headers.get('location')]).toEqual([302, '/?sso_error=not_configured']);
    const account = await h.newAccount('switched');
    const agent = await h.agentWithKey(account.token, 'switched_agent');
    await h.vault.accounts.setVault('switched', false);
    expect((await h.call('GET', `/runtime/v1/secrets/${CANARY}_granted`, { token: agent.key })).status).toBe(403);
    const after = (await scrape()).families;
    const rateLimited = 'agent_secrets_rate_limited_requests_total';
    expect(valueOf(after, rateLimited, rateLimited, { route: '/runtime/v1/secrets/:name' }) - valueOf(before, rateLimited, rateLimited, { route: '/runtime/v1/secrets/:name' })).toBe(refused);
    const signIns = (families: Map<string, Family>, outcome: string) => valueOf(families, 'agent_secrets_sign_ins_total', 'agent_secrets_sign_ins_total', { method: 'password', outcome });
    expect(signIns(after, 'success') - signIns(before, 'success')).toBe(1);
    expect(signIns(after, 'unauthenticated') - signIns(before, 'unauthenticated')).toBe(1);
    const ssoSignIns = (families: Map<string, Family>, outcome: string) => valueOf(families, 'agent_secrets_sign_ins_total', 'agent_secrets_sign_ins_total', { method: 'sso', outcome });
    expect(ssoSignIns(after, 'not_configured') - ssoSignIns(before, 'not_configured')).toBe(1);
    expect(reads(after, 'vault_not_enabled') - reads(before, 'vault_not_enabled')).toBe(1);
  });

  it('holds no secret name, value, key name, agent name, key or token, whatever the requests held', async () => {
    // Names in paths, queries and headers that a careless exporter could turn into labels.
    await h.call('GET', `/runtime/v1/secrets/${CANARY}_granted?${CANARY}_query=${CANARY}`, { token: reader.key, headers: { 'x-request-id': `${CANARY}-rid` } });
    await h.call('GET', `/api/v1/secrets/${CANARY}_granted`, { token: h.admin.token });
    await h.call('GET', `/no/such/${CANARY}/route`);
    const { text, families } = await scrape();
    for (const needle of [CANARY, METRICS_TOKEN, h.admin.token, h.admin.password, reader.key, other.key]) expect(text).not.toContain(needle);
    // Process metrics as prom-client gives them, on the service's own registry.
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
  });
});

it('is no route at all on a server started without a metrics token', async () => {
  const plain = await startHarness('sqlite');
  try {
    const answer = await plain.call('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect([answer.status, answer.body.error.code]).toEqual([404, 'not_found']);
  } finally {
    await plain.close();
  }
});
