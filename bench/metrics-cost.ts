/**
 * What metrics add to one run-time read, measured in-process where the shared machine's noise matters
 * less than in a load test: the time of the calls a read makes with metrics on (measured()'s two clock
 * reads, the counter increment, the histogram observation) and with them off (none: measured() hands
 * back the read itself), per call, against an empty async function.
 *
 *   npx tsx bench/metrics-cost.ts
 */
import { prometheusMetrics } from '../src/http/metrics.js';
import { measured, noMetrics } from '../src/vault/metrics.js';

const CALLS = 2_000_000;
const read = async (name: string): Promise<string> => name;

async function nsPerCall(run: (name: string) => Promise<string>): Promise<number> {
  for (let i = 0; i < 100_000; i++) await run('warm');
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await run('name');
  return Number(process.hrtime.bigint() - started) / CALLS;
}

const on = prometheusMetrics();
const off = measured(noMetrics, noMetrics.runtimeRead, read);
const withMetrics = measured(on, on.runtimeRead, read);
const rounds: Array<{ off: number; on: number }> = [];
for (let round = 0; round < 5; round++) {
  // Alternating, so that warm-up and noise fall on both alike.
  if (round % 2 === 0) rounds.push({ off: await nsPerCall(off), on: await nsPerCall(withMetrics) });
  else {
    const onFirst = await nsPerCall(withMetrics);
    rounds.push({ off: await nsPerCall(off), on: onFirst });
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const offNs = median(rounds.map((r) => r.off));
const onNs = median(rounds.map((r) => r.on));
process.stdout.write(`per read, medians of ${rounds.length} rounds of ${CALLS} calls: metrics off ${offNs.toFixed(0)} ns, on ${onNs.toFixed(0)} ns: metrics add ${(onNs - offNs).toFixed(0)} ns\n`);
process.stdout.write(`(metrics off: measured() returns the read itself, so "off" is the bare async call)\n`);
