import type { FastifyReply } from 'fastify';
import { VaultError } from '../domain/errors.js';

/**
 * A token bucket per key: `perSecond` tokens refill continuously up to `burst`. In memory, per
 * instance: behind a load balancer each instance enforces its own share.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /**
   * Takes a token for `key`; returns 0 when allowed, else the seconds to wait. Time is the monotonic
   * clock: a wall clock set back (NTP, an operator) must not drain every bucket for as long as it moved.
   */
  take(key: string, now = performance.now()): number {
    if (!Number.isFinite(this.perSecond)) return 0;
    const bucket = this.buckets.get(key);
    const tokens = bucket ? this.refilled(bucket, now) : this.burst;
    if (tokens < 1) {
      if (bucket) bucket.at = now;
      if (bucket) bucket.tokens = tokens;
      return Math.ceil((1 - tokens) / this.perSecond);
    }
    if (!bucket && this.buckets.size >= this.maxKeys) this.forgetFullBuckets(now);
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return 0;
  }

  private refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.perSecond);
  }

  /** Buckets that have refilled hold nothing worth keeping. */
  private forgetFullBuckets(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now) >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}

export interface RateLimits {
  /** Run-time reads per agent key per second (bursts of twice that). */
  readsPerSecond: number;
  /** Brokered requests per agent key per second (bursts of twice that): their own budget, apart from reads. */
  brokeredRequestsPerSecond: number;
  /** Sign-in attempts per email per minute. */
  signInsPerAccountPerMinute: number;
  /** Sign-in attempts per client address per minute. */
  signInsPerAddressPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { readsPerSecond: 1000, brokeredRequestsPerSecond: 100, signInsPerAccountPerMinute: 10, signInsPerAddressPerMinute: 30 };

/** Throws 429 rate_limited (with Retry-After) when `limiter` refuses `key`. */
export function enforce(limiter: RateLimiter, key: string, reply: FastifyReply, what: string): void {
  const wait = limiter.take(key);
  if (wait > 0) {
    void reply.header('retry-after', String(wait));
    throw new VaultError('rate_limited', `Too many ${what}; try again in ${wait} s.`);
  }
}
