/**
 * What metrics add to one run-time read, measured in-process, where a shared machine's noise matters
 * less than in a load test over HTTP:
 * 1. the calls a read makes with metrics on (measured()'s two clock reads, the counter increment, the
 *    histogram observation) against metrics off (none: measured() hands back the read itself), per
 *    call, around an empty async function;
 * 2. real reads (readSecretForAgent with its audit write, SQLite) by two vaults over the same store,
 *    one with metrics on and one off, alternating, in CPU time per read (all threads of this process).
 *    prom-client's process metrics run in this process for both, so 2 leaves their share out (they
 *    cost nothing per read: they are gathered at scrape time, but for a GC observer).
 *
 *   npx tsx bench/metrics-cost.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { prometheusMetrics } from '../src/http/metrics.js';
import { migrateToLatest, openStore, type StoreLocation } from '../src/store/database.js';
import { createVault, type Vault } from '../src/vault/index.js';
import { silentLog } from '../src/vault/log.js';
import { measured, noMetrics } from '../src/vault/metrics.js';
import { seed } from './seed.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs `a` and `b` `rounds` times each, alternating which goes first; medians of what `measure` answers. */
async function alternating(rounds: number, a: () => Promise<number>, b: () => Promise<number>): Promise<{ a: number; b: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: median(as), b: median(bs) };
}

const CALLS = 2_000_000;
const emptyRead = async (name: string): Promise<string> => name;

async function nsPerCall(run: (name: string) => Promise<string>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await run('name');
  return Number(process.hrtime.bigint() - started) / CALLS;
}

const metrics = prometheusMetrics();
const calls = alternating(5, () => nsPerCall(measured(noMetrics, noMetrics.runtimeRead, emptyRead)), () => nsPerCall(measured(metrics, metrics.runtimeRead, emptyRead)));
const perCall = await calls;
process.stdout.write(`1. per call, medians of 5 rounds of ${CALLS}: metrics off ${perCall.a.toFixed(0)} ns, on ${perCall.b.toFixed(0)} ns: metrics add ${(perCall.b - perCall.a).toFixed(0)} ns per read\n`);

const READS = 40_000;
const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-metrics-cost-'));
try {
  const key = masterKeyFromBytes(randomBytes(32));
  const location: StoreLocation = { kind: 'sqlite', file: join(dir, 'bench.db') };
  const seeded = await seed(location, key, false);
  const open = async (on: boolean): Promise<Vault> => {
    const store = openStore(location);
    await migrateToLatest(store);
    const vault = createVault({ store, masterKey: key, log: silentLog, ...(on ? { metrics } : {}) });
    await store.readEvents.ready();
    return vault;
  };
  const [off, on] = [await open(false), await open(true)];
  const cpuPerRead = async (vault: Vault): Promise<number> => {
    const before = process.cpuUsage();
    // 50 at a time, as 50 connections would send them: the audit batches group as under load.
    for (let i = 0; i < READS; i += 50) await Promise.all(Array.from({ length: 50 }, () => vault.runtime.readSecretForAgent(seeded.agentKey, seeded.secretName)));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / READS;
  };
  await cpuPerRead(off);
  await cpuPerRead(on);
  const reads = await alternating(7, () => cpuPerRead(off), () => cpuPerRead(on));
  process.stdout.write(
    `2. CPU per read (SQLite, audit write included), medians of 7 rounds of ${READS}: metrics off ${reads.a.toFixed(1)} µs, on ${reads.b.toFixed(1)} µs (${(((reads.b - reads.a) / reads.a) * 100).toFixed(1)} %)\n`,
  );
  await off.close();
  await on.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
