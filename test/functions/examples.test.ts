import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { exampleRuns, sha256 } from './exampleRuns.js';
import { leaksOf } from './leaks.js';

const BOOKING_TOKEN = 'CANARY-example-booking-token';
const CLIENT_SECRET = 'CANARY-example-client/secret+=';
const SHOP_KEY = 'CANARY-example-shop-key';

describe('the examples in examples/ run as docs/functions.md says', () => {
  let h: Harness;
  let examples: Awaited<ReturnType<typeof exampleRuns>>;
  let env: Record<string, string>;
  const run = (file: string, args: Record<string, unknown>) => examples.run(file, args, env);

  beforeAll(async () => {
    h = await startHarness('sqlite');
    const agent = await h.agentWithKey(h.admin.token, 'front desk');
    const create = (body: unknown) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body });
    await create({ name: 'booking_api_token', value: BOOKING_TOKEN, agents: ['front desk'] });
    await create({ name: 'partner_oauth', value: { client_id: 'front-desk-client', client_secret: CLIENT_SECRET }, agents: ['front desk'] });
    await create({ name: 'shop_api_key', value: SHOP_KEY, agents: ['front desk'] });
    examples = await exampleRuns();
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: agent.key };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of examples?.outputs ?? []) expect(leaksOf(stdout + stderr, [BOOKING_TOKEN, CLIENT_SECRET, SHOP_KEY])).toEqual([]);
    await examples?.close();
    await h?.close();
  });

  it('book_table.ts sends the bearer token and books', async () => {
    const result = await run('book_table.ts', { restaurant_id: 'r-17', party_size: 2, time: '2026-12-24T19:30', name: 'Ada' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ booked: true, say: "You're booked for 2 at 2026-12-24T19:30." });
    expect(examples.api.received).toContainEqual({ api: 'booking', bearer: sha256(BOOKING_TOKEN) });
  });

  it('oauth_client_credentials.ts exchanges the key/value secret for a token and calls the API', async () => {
    const result = await run('oauth_client_credentials.ts', { customer_id: 'c-42' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, balance: 1250, say: 'You have 1250 points.' });
    expect(examples.api.received).toContainEqual({ api: 'oauth', client_id: 'front-desk-client', client_secret: sha256(CLIENT_SECRET) });
    // The client id is a value of the secret too, so the log masks it.
    expect(result.stderr).toBe('[info] loyalty balance read {"customer":"c-42","client":"***"}\n');
  });

  it('lookup_order.py reads the API key in Python and looks up the order', async () => {
    const result = await run('lookup_order.py', { order_id: 'o-1001' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ found: true, status: 'shipped', say: 'Your order is shipped.' });
    expect(examples.api.received).toContainEqual({ api: 'shop', key: sha256(SHOP_KEY) });
  });
});
