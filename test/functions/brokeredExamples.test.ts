import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { exampleRuns, sha256 } from './exampleRuns.js';
import { leaksOf } from './leaks.js';

const PAYMENTS_KEY = 'sk_live_CANARY-example-payments-key';
const CLIENT_SECRET = 'CANARY-example-brokered-client/secret+=&';

describe('the brokered examples run against the local mock APIs (serve --broker-allow-private)', () => {
  let h: Harness;
  let examples: Awaited<ReturnType<typeof exampleRuns>>;
  let env: Record<string, string>;
  const run = (file: string, args: Record<string, unknown>) => examples.run(file, args, env);

  beforeAll(async () => {
    examples = await exampleRuns();
    h = await startHarness('sqlite', { broker: { allowPrivate: true } });
    const agent = await h.agentWithKey(h.admin.token, 'front desk');
    const create = (body: unknown) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body });
    await create({ name: 'payments_api_key', value: PAYMENTS_KEY, delivery: 'broker-only', reveal: 'never', allowedHosts: [examples.host], agents: ['front desk'] });
    await create({ name: 'partner_oauth', value: { client_id: 'front-desk-client', client_secret: CLIENT_SECRET }, delivery: 'broker-only', allowedHosts: [examples.host], agents: ['front desk'] });
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: agent.key };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of examples?.outputs ?? []) expect(leaksOf(stdout + stderr, [PAYMENTS_KEY, CLIENT_SECRET])).toEqual([]);
    await examples?.close();
    await h?.close();
  });

  it('charge_payment.ts charges with a broker-only key it never holds; the echoed key comes back as ***', async () => {
    const result = await run('charge_payment.ts', { amount_cents: 2500, currency: 'eur', order_id: 'o-1001' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ charged: true, say: 'Done: 25.00 EUR charged.' });
    expect(examples.api.received).toContainEqual({ api: 'payments', bearer: sha256(PAYMENTS_KEY) });
    expect(result.stderr).toContain('"key_used":"***"');
  });

  it('oauth_brokered.ts exchanges the key/value secret for a token through the broker, then calls the API', async () => {
    const result = await run('oauth_brokered.ts', { customer_id: 'c-42' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, balance: 1250, say: 'You have 1250 points.' });
    expect(examples.api.received).toContainEqual({ api: 'oauth', client_id: 'front-desk-client', client_secret: sha256(CLIENT_SECRET) });
  });
});
