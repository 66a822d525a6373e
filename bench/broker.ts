/**
 * What a brokered request adds (SPEC S26): the same request sent to a local upstream directly and
 * through POST /runtime/v1/requests, in one run, one at a time, in interleaved blocks so that noise
 * hits both alike; with a get_secret read of the same server as a reference.
 *
 *   npm run bench:broker                       # 5 blocks of 1000 requests per path
 *   npm run bench:broker -- --blocks 10 --per-block 2000
 *
 * The server is the real one in its own process (bench/server.ts --broker-allow-private, SQLite);
 * the upstream is a node:http server in this process answering a small JSON body that echoes the
 * Authorization header, so the broker's scrubbing has something to do. Reports each path's p50 and
 * p99 latency, the broker's added p50 and p99, and the server process's CPU time per request (all
 * threads, from /proc).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { migrateToLatest, openStore } from '../src/store/database.js';
import { createVault } from '../src/vault/index.js';
import { silentLog } from '../src/vault/log.js';
import { cpuMs, startServer } from './processes.js';
import { quantiles } from './quantiles.js';

const { values: options } = parseArgs({ options: { blocks: { type: 'string', default: '5' }, 'per-block': { type: 'string', default: '1000' } } });
const BLOCKS = Number(options.blocks);
const PER_BLOCK = Number(options['per-block']);
const VALUE = 'sk_bench_broker_0123456789abcdef';


const upstream = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ ok: true, auth: request.headers.authorization ?? null }));
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamHost = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;

const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-bench-broker-'));
const file = join(dir, 'bench.db');
const masterKey = randomBytes(32).toString('base64');
const store = openStore({ kind: 'sqlite', file });
await migrateToLatest(store);
const vault = createVault({ store, masterKey: masterKeyFromBytes(Buffer.from(masterKey, 'base64')), log: silentLog });
const admin = await vault.accounts.createAccount('default', 'bench@example.com', 'benchmark password');
const caller = await vault.people.authenticateToken(admin.token);
const agent = await vault.agents.createAgent(caller, 'bench agent');
const { key: agentKey } = await vault.agents.createAgentKey(caller, agent.id, { name: 'bench' });
await vault.secrets.createSecret(caller, { name: 'bench_secret', value: VALUE, agents: [agent.id], allowedHosts: [upstreamHost] });
await vault.close();

const server = await startServer(['--sqlite', file, '--master-key', masterKey, '--broker-allow-private']);
const { child } = server;
const port = Number(new URL(server.url).port);

const direct = new Pool(`http://${upstreamHost}`, { connections: 1 });
const vaultPool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
const brokered = JSON.stringify({ method: 'GET', url: `http://${upstreamHost}/v1/ping`, headers: { authorization: 'Bearer {{secret:bench_secret}}' } });

type Path = 'direct' | 'brokered' | 'get_secret';
const send: Record<Path, () => Promise<number>> = {
  direct: async () => {
    const answer = await direct.request({ method: 'GET', path: '/v1/ping', headers: { authorization: `Bearer ${VALUE}` } });
    await answer.body.text();
    return answer.statusCode;
  },
  brokered: async () => {
    const answer = await vaultPool.request({ method: 'POST', path: '/runtime/v1/requests', headers: { authorization: `Bearer ${agentKey}`, 'content-type': 'application/json' }, body: brokered });
    const text = await answer.body.text();
    if (answer.statusCode === 200 && text.includes(VALUE)) throw new Error('the brokered answer was not scrubbed');
    return answer.statusCode;
  },
  get_secret: async () => {
    const answer = await vaultPool.request({ method: 'GET', path: '/runtime/v1/secrets/bench_secret', headers: { authorization: `Bearer ${agentKey}` } });
    await answer.body.text();
    return answer.statusCode;
  },
};

const samples: Record<Path, number[]> = { direct: [], brokered: [], get_secret: [] };
const serverCpuMs: Record<Path, number> = { direct: 0, brokered: 0, get_secret: 0 };

async function block(path: Path, count: number, record: boolean): Promise<void> {
  const cpuBefore = cpuMs(child.pid);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const status = await send[path]();
    const elapsed = performance.now() - started;
    if (status !== 200) throw new Error(`${path} answered ${status}`);
    if (record) samples[path].push(elapsed);
  }
  if (record) serverCpuMs[path] += cpuMs(child.pid) - cpuBefore;
}

process.stdout.write(`warming up…\n`);
for (const path of ['direct', 'brokered', 'get_secret'] as const) await block(path, 300, false);
for (let round = 1; round <= BLOCKS; round++) {
  for (const path of ['direct', 'brokered', 'get_secret'] as const) await block(path, PER_BLOCK, true);
  process.stdout.write(`block ${round}/${BLOCKS} done\n`);
}

const at = Object.fromEntries((Object.keys(samples) as Path[]).map((path) => [path, quantiles(samples[path])])) as Record<Path, (q: number) => number>;
const row = (path: Path) =>
  `${path.padEnd(12)} p50 ${at[path](0.5).toFixed(2).padStart(6)} ms   p99 ${at[path](0.99).toFixed(2).padStart(6)} ms   server cpu ${((serverCpuMs[path] * 1000) / samples[path].length).toFixed(0).padStart(5)} µs/req`;
process.stdout.write(
  [
    '',
    `${BLOCKS} interleaved blocks of ${PER_BLOCK} sequential requests per path, one connection each, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
    row('direct'),
    row('brokered'),
    row('get_secret'),
    `broker adds   p50 ${(at.brokered(0.5) - at.direct(0.5)).toFixed(2)} ms   p99 ${(at.brokered(0.99) - at.direct(0.99)).toFixed(2)} ms`,
    '',
  ].join('\n'),
);

await direct.close();
await vaultPool.close();
await server.stop();
upstream.close();
rmSync(dir, { recursive: true, force: true });
