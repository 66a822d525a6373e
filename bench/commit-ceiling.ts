/**
 * The floor under an audited read on this machine, without HTTP: what the disk takes to make a write
 * durable, and what one durable commit of read events costs in SQLite through the product's own code.
 *
 *   npm run bench:ceiling                  # 3 s of fsyncs, then 3 rounds × 1 s per batch size
 *   npm run bench:ceiling -- --seconds 3   # longer rounds
 *
 * Every audited read waits for one such commit (SPEC S13), so the figures bound both the read's rate
 * (CPU per event) and its latency (commit time, twice when a read arrives during a commit).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { openStore } from '../src/store/database.js';
import { readEventTransaction, type ReadEventBatch } from '../src/store/readEvents.js';
import { auditRow } from '../src/vault/audit.js';
import { createVault } from '../src/vault/index.js';
import { silentLog } from '../src/vault/log.js';
import { seed } from './seed.js';

const { values: options } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } });
const SECONDS = Number(options.seconds);
const BATCH_SIZES = [1, 4, 20, 50];
const ROUNDS = 3;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
const ms = (x: number): string => x.toFixed(2);

/** What the disk alone takes: 16 KiB written then fsynced, back to back (a commit writes about that much). */
function fsyncLatencies(dir: string): number[] {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const page = randomBytes(16 * 1024);
  const latencies: number[] = [];
  try {
    const end = performance.now() + 3000;
    for (let offset = 0; performance.now() < end; offset = (offset + page.length) % (4 * 1024 * 1024)) {
      writeSync(fd, page, 0, page.length, offset);
      const start = performance.now();
      fsyncSync(fd);
      latencies.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
  }
  return latencies.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-ceiling-'));
  try {
    process.stdout.write(`${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}\n\n`);
    const fsyncs = fsyncLatencies(dir);
    process.stdout.write(
      `disk: write 16 KiB + fsync, ${fsyncs.length} times in 3 s: p50 ${ms(quantile(fsyncs, 0.5))} ms  p99 ${ms(quantile(fsyncs, 0.99))} ms  p99.9 ${ms(quantile(fsyncs, 0.999))} ms  max ${ms(fsyncs[fsyncs.length - 1] ?? 0)} ms\n\n`,
    );

    const file = join(dir, 'ceiling.db');
    const masterKey = masterKeyFromBytes(randomBytes(32));
    await seed({ kind: 'sqlite', file }, masterKey, false);
    // Opened as the audit writer thread opens it (its own connection, synchronous=FULL), without HTTP.
    const store = openStore({ kind: 'sqlite', file }, { writerThreadTurns: new SharedArrayBuffer(8) });
    const account = await store.db.selectFrom('accounts').select('id').executeTakeFirstOrThrow();
    // Each commit signs its head, as the writer thread does (the key opened once, as there).
    const signer = await createVault({ store, masterKey, log: silentLog }).audit.headSigner([account.id]);
    const writeTransaction = readEventTransaction(store);
    const writeBatch = (batch: ReadEventBatch) => writeTransaction(batch, signer);
    const agent = await store.db.selectFrom('agents').select(['id', 'name']).executeTakeFirstOrThrow();
    const secret = await store.db.selectFrom('secrets').select(['id', 'name']).executeTakeFirstOrThrow();
    const readsOf = (size: number): ReadEventBatch => {
      const at = new Date().toISOString();
      const entry = { actor: { type: 'agent' as const, ...agent }, action: 'secret.read' as const, outcome: 'success' as const, secret, version: 1, agent };
      return { events: Array.from({ length: size }, () => auditRow(account.id, entry, at)), lastRead: [{ secretId: secret.id, agentId: agent.id, environment: 'live', version: 1, at }] };
    };
    const walFrames = (): number => statSync(`${file}-wal`).size / (4096 + 24);

    process.stdout.write('one commit of N read events (chain lock, N rows, chain head, "last read" stamps), through readEventTransaction:\n');
    process.stdout.write('   N   events/s   CPU µs/event   wall µs/event   commit p50 / p99 ms   WAL frames/commit\n');
    for (const size of BATCH_SIZES) {
      for (let i = 0; i < 50; i++) await writeBatch(readsOf(size));
      const rounds: Array<{ rate: number; cpu: number; wall: number; p50: number; p99: number; frames: number }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Frames are counted on a WAL that starts empty and is not checkpointed during the round.
        await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
        await sql`pragma wal_autocheckpoint = 0`.execute(store.db);
        const commits: number[] = [];
        const cpuStart = process.cpuUsage();
        const start = performance.now();
        while (performance.now() - start < SECONDS * 1000) {
          const batch = readsOf(size);
          const t = performance.now();
          await writeBatch(batch);
          commits.push(performance.now() - t);
        }
        const wall = performance.now() - start;
        const cpu = process.cpuUsage(cpuStart);
        const events = commits.length * size;
        commits.sort((a, b) => a - b);
        rounds.push({
          rate: (events / wall) * 1000,
          cpu: (cpu.user + cpu.system) / events,
          wall: (wall * 1000) / events,
          p50: quantile(commits, 0.5),
          p99: quantile(commits, 0.99),
          frames: walFrames() / commits.length,
        });
        await sql`pragma wal_autocheckpoint = 1000`.execute(store.db);
      }
      const m = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
      process.stdout.write(
        `${String(size).padStart(4)} ${m((r) => r.rate).toFixed(0).padStart(10)} ${m((r) => r.cpu).toFixed(1).padStart(14)} ${m((r) => r.wall).toFixed(1).padStart(15)}   ${ms(m((r) => r.p50)).padStart(8)} / ${ms(m((r) => r.p99)).padEnd(8)} ${m((r) => r.frames).toFixed(1).padStart(12)}\n`,
      );
    }
    process.stdout.write(`\nmedians of ${ROUNDS} rounds of ${SECONDS} s per batch size; the machine's other work shares the CPU.\n`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
