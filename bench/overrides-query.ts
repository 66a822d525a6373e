/**
 * The run-time read's one statement alone (src/store/runtime.ts runtimeReadQuery), timed in this process
 * on two stores of the same build: one whose secret has an override in every environment (the read
 * answers the live override), one without. Rounds alternate which store goes first, so noise on a
 * shared machine hits both alike; the figures are the median and the fastest round per store, and their ratios.
 * The statement runs once per change to what reads depend on (after that, reads reuse its answer under
 * the read revision), so this is the cost overrides add where they can add any.
 *
 *   npm run bench:overrides              # SQLite, 7 rounds of 20,000 statements per store
 *   BENCH_DATABASE_URL=postgres://… npm run bench:overrides   # also PostgreSQL (databases bench_q_a, bench_q_b)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { credentialId } from '../src/crypto/tokens.js';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { openStore, type Store, type StoreLocation } from '../src/store/database.js';
import { runtimeReadQuery } from '../src/store/runtime.js';
import { seed } from './seed.js';

const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, statements: { type: 'string', default: '20000' } } });
const ROUNDS = Number(options.rounds);
const STATEMENTS = Number(options.statements);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Case {
  label: string;
  store: Store;
  keyId: string;
  name: string;
}

async function caseOf(label: string, location: StoreLocation, overrides: boolean): Promise<Case> {
  const seeded = await seed(location, masterKeyFromBytes(randomBytes(32)), false, overrides);
  return { label, store: openStore(location), keyId: `key_${credentialId(seeded.agentKey, 'ask') ?? ''}`, name: seeded.secretName };
}

/** µs per statement over STATEMENTS runs, one at a time (the latency of the statement, not a throughput). */
async function time(c: Case): Promise<number> {
  const query = runtimeReadQuery(c.store.db);
  const started = process.hrtime.bigint();
  for (let i = 0; i < STATEMENTS; i++) {
    const [row] = await c.store.read(query(c.keyId, c.name));
    if (row?.ciphertext == null) throw new Error(`${c.label}: the statement found no value`);
  }
  return Number(process.hrtime.bigint() - started) / 1000 / STATEMENTS;
}

async function compare(title: string, without: Case, withOverrides: Case): Promise<void> {
  const [a] = await without.store.read(runtimeReadQuery(without.store.db)(without.keyId, without.name));
  const [b] = await withOverrides.store.read(runtimeReadQuery(withOverrides.store.db)(withOverrides.keyId, withOverrides.name));
  if (a?.override_version !== null || b?.override_version === null) throw new Error('the stores do not differ as they should');
  for (const c of [without, withOverrides]) await time(c); // warm-up: JIT, prepared statements, page cache
  const times = new Map<string, number[]>([[without.label, []], [withOverrides.label, []]]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of round % 2 === 0 ? [without, withOverrides] : [withOverrides, without]) times.get(c.label)?.push(await time(c));
  }
  const m0 = median(times.get(without.label) ?? []);
  const m1 = median(times.get(withOverrides.label) ?? []);
  process.stdout.write(`${title}: ${STATEMENTS} statements × ${ROUNDS} rounds, alternating\n`);
  process.stdout.write(`  without overrides  ${m0.toFixed(1)} µs/statement   (rounds: ${(times.get(without.label) ?? []).map((t) => t.toFixed(1)).join(', ')})\n`);
  process.stdout.write(`  overrides present  ${m1.toFixed(1)} µs/statement   (rounds: ${(times.get(withOverrides.label) ?? []).map((t) => t.toFixed(1)).join(', ')})\n`);
  // The fastest round is the one the machine's other load disturbed least: on a shared machine its ratio is the steadier one.
  const f0 = Math.min(...(times.get(without.label) ?? []));
  const f1 = Math.min(...(times.get(withOverrides.label) ?? []));
  process.stdout.write(`  ratio present / without: median ${((m1 / m0) * 100).toFixed(1)} %, fastest round ${((f1 / f0) * 100).toFixed(1)} % (${f1.toFixed(1)} / ${f0.toFixed(1)} µs)\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-bench-q-'));
  const cases: Case[] = [];
  try {
    const a = await caseOf('sqlite without', { kind: 'sqlite', file: join(dir, 'a.db') }, false);
    const b = await caseOf('sqlite with', { kind: 'sqlite', file: join(dir, 'b.db') }, true);
    cases.push(a, b);
    await compare('SQLite', a, b);
    if (process.env.BENCH_DATABASE_URL) {
      const admin = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
      await admin.connect();
      for (const name of ['bench_q_a', 'bench_q_b']) {
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.query(`CREATE DATABASE ${name}`);
      }
      await admin.end();
      const url = (name: string) => Object.assign(new URL(process.env.BENCH_DATABASE_URL ?? ''), { pathname: `/${name}` }).toString();
      const pa = await caseOf('postgres without', { kind: 'postgres', url: url('bench_q_a') }, false);
      const pb = await caseOf('postgres with', { kind: 'postgres', url: url('bench_q_b') }, true);
      cases.push(pa, pb);
      await compare('PostgreSQL', pa, pb);
    }
  } finally {
    for (const c of cases) await c.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
