import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript example without type declarations
import { mockApis } from '../../examples/mock-apis.mjs';
import { startHarness, type Harness } from '../support/harness.js';
import { runCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

const PAYMENTS_KEY = 'sk_live_CANARY-example-payments-key';
const CLIENT_SECRET = 'CANARY-example-brokered-client/secret+=&';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe('the brokered examples run against the local mock APIs (serve --broker-allow-private)', () => {
  let h: Harness;
  let api: { server: Server; received: Array<Record<string, string>> };
  let apiBase: string;
  let env: Record<string, string>;
  const outputs: CliResult[] = [];

  const run = async (file: string, args: Record<string, unknown>) => {
    const result = await runCli(['run', example(file), '--args', JSON.stringify({ ...args, api_base: apiBase })], env);
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    api = mockApis();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    apiBase = `http://${host}`;
    h = await startHarness('sqlite', { broker: { allowPrivate: true } });
    const agent = await h.agentWithKey(h.admin.token, 'front desk');
    const create = (body: unknown) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body });
    await create({ name: 'payments_api_key', value: PAYMENTS_KEY, delivery: 'broker-only', reveal: 'never', allowedHosts: [host], agents: ['front desk'] });
    await create({ name: 'partner_oauth', value: { client_id: 'front-desk-client', client_secret: CLIENT_SECRET }, delivery: 'broker-only', allowedHosts: [host], agents: ['front desk'] });
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: agent.key };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of outputs) expect(leaksOf(stdout + stderr, [PAYMENTS_KEY, CLIENT_SECRET])).toEqual([]);
    await new Promise((resolve) => api?.server.close(resolve));
    await h?.close();
  });

  it('charge_payment.ts charges with a broker-only key it never holds; the echoed key comes back as ***', async () => {
    const result = await run('charge_payment.ts', { amount_cents: 2500, currency: 'eur', order_id: 'o-1001' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ charged: true, say: 'Done: 25.00 EUR charged.' });
    expect(api.received).toContainEqual({ api: 'payments', bearer: sha256(PAYMENTS_KEY) });
    expect(result.stderr).toContain('"key_used":"***"');
  });

  it('oauth_brokered.ts exchanges the key/value secret for a token through the broker, then calls the API', async () => {
    const result = await run('oauth_brokered.ts', { customer_id: 'c-42' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, balance: 1250, say: 'You have 1250 points.' });
    expect(api.received).toContainEqual({ api: 'oauth', client_id: 'front-desk-client', client_secret: sha256(CLIENT_SECRET) });
  });
});
