/**
 * Latency at a fixed rate, measured open-loop: requests leave on a schedule (one every 1/rate s),
 * whatever the server answers, so a slow answer never holds back the requests after it (no coordinated
 * omission). A request's latency runs from when it is handed to the client, so waiting for a free
 * connection counts; how late the schedule itself ran is reported apart (`lateP99`, `lateMax`).
 *
 * autocannon's own fixed rate is not that: each connection sends back to back until it has made its
 * share of the second, then waits for the next second, so the server sees bursts at the peak rate; and
 * it "corrects" each latency as if one request were due every millisecond, so a 10 ms answer is
 * recorded as ten (10, 9, … 1 ms).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { quantiles } from './quantiles.js';

export interface PacedFigures {
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  failed: number;
  /** How late requests left against the schedule, p99 and max (timers wake once a millisecond at best). */
  lateP99: number;
  lateMax: number;
}

export async function paced(options: { url: string; path: string; headers: Record<string, string>; rate: number; seconds: number; connections: number }): Promise<PacedFigures> {
  const { url, path, headers, rate, seconds, connections } = options;
  const pool = new Pool(url, { connections, pipelining: 1 });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies = new Float64Array(total);
  const lateness = new Float64Array(total);
  let failed = 0;
  let settled = 0;
  try {
    await new Promise<void>((allSettled) => {
      const start = performance.now();
      let next = 0;
      const fire = (due: number, index: number) => {
        const sent = performance.now();
        lateness[index] = sent - due;
        pool.request({ path, method: 'GET', headers }).then(
          async ({ statusCode, body }) => {
            await body.dump();
            latencies[index] = performance.now() - sent;
            if (statusCode !== 200) failed += 1;
          },
          () => {
            latencies[index] = performance.now() - sent;
            failed += 1;
          },
        ).finally(() => {
          if (++settled === total) allSettled();
        });
      };
      // Timers wake at most once a millisecond: each wake sends every request due by then.
      const tick = () => {
        const now = performance.now();
        while (next < total && start + next * interval <= now) {
          fire(start + next * interval, next);
          next += 1;
        }
        if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
      };
      tick();
    });
  } finally {
    await pool.close();
  }
  const latency = quantiles(latencies);
  const late = quantiles(lateness);
  return { rate, p50: latency(0.5), p99: latency(0.99), p999: latency(0.999), max: latency(1), failed, lateP99: late(0.99), lateMax: late(1) };
}
