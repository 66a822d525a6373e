import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/http/rateLimit.js';
import { startHarness, type Harness } from '../support/harness.js';

describe('the token bucket', () => {
  it('allows a burst, then refills at its rate', () => {
    const limiter = new RateLimiter(2, 4);
    const t = 1_000_000;
    expect([0, 0, 0, 0].map(() => limiter.take('k', t))).toEqual([0, 0, 0, 0]);
    expect(limiter.take('k', t)).toBe(1);
    expect(limiter.take('k', t + 500)).toBe(0);
    expect(limiter.take('k', t + 500)).toBe(1);
    expect(limiter.take('other', t)).toBe(0);
  });

  it('takes a clock that went back for no time passed, not for a debt to wait out', () => {
    const limiter = new RateLimiter(0.5, 30);
    const t = 1_000_000_000;
    expect(limiter.take('k', t)).toBe(0);
    // Ten minutes back: the bucket still holds what it held, the next 29 take a token each.
    expect(Array.from({ length: 29 }, () => limiter.take('k', t - 600_000))).toEqual(Array(29).fill(0));
    expect(limiter.take('k', t - 600_000)).toBe(2);
  });

  it('stays bounded in memory, forgetting buckets that have refilled', () => {
    const limiter = new RateLimiter(1, 1, 10);
    for (let i = 0; i < 1000; i++) limiter.take(`key ${i}`, i * 2000);
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(10);
  });
});

describe('rate limits on the API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { limits: { readsPerSecond: 1, signInsPerAccountPerMinute: 3, signInsPerAddressPerMinute: 5 } });
  });
  afterAll(async () => h?.close());

  it('refuses run-time reads beyond the per-key rate with 429 and Retry-After, other keys unaffected', async () => {
    const busy = await h.agentWithKey(h.admin.token, 'busy');
    const calm = await h.agentWithKey(h.admin.token, 'calm');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 's', value: 'v', agents: ['busy', 'calm'] } });
    // 1 read per second with bursts of 2: of ten quick reads, only the burst and the refill pass.
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await h.call('GET', '/runtime/v1/secrets/s', { token: busy.key }));
    const allowed = 2 + Math.floor((Date.now() - started) / 1000);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(allowed);
    expect(answers.slice(0, 2).map((a) => a.status)).toEqual([200, 200]);
    const limited = answers.find((a) => a.status === 429);
    if (!limited) throw new Error('no read was limited');
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await h.call('GET', '/runtime/v1/secrets/s', { token: calm.key })).status).toBe(200);
  });

  it('slows sign-in per account, then per address', async () => {
    const attempts = [];
    for (let i = 0; i < 4; i++) attempts.push((await h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: 'wrong password here' } })).status);
    expect(attempts).toEqual([401, 401, 401, 429]);
    // The right password is refused too while the account is limited: guessing gains nothing.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: h.admin.email, password: h.admin.password } })).status).toBe(429);
    const other = (await h.call('POST', '/api/v1/auth/login', { body: { email: 'someone@example.com', password: 'wrong password here' } })).status;
    expect(other).toBe(429); // the address has used its 5 attempts
  });
});
