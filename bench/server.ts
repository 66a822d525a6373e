/**
 * The real server (createVault + buildServer, as `agent-secrets serve` wires them) for benchmarks, in
 * its own process. Prints {"port": N} once listening.
 *
 *   tsx bench/server.ts --sqlite FILE | --postgres URL   --master-key BASE64   [--no-audit | --no-signing] [--metrics] [--timings] [--broker-allow-private]
 *
 * --no-audit answers reads without writing their audit events: it exists only here, to show what the
 * audit costs, and breaks the product's promise (SPEC S13); the CLI cannot set it. --no-signing writes
 * the events with their heads unsigned, to show what signing costs (same-run A/B); it breaks SPEC
 * section 5 the same way, and exists only here. --metrics reports into prom-client as
 * `serve --metrics-token-file` does (GET /metrics served, not scraped during the load), for the
 * metrics on/off A/B.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { prometheusMetrics } from '../src/http/metrics.js';
import { buildServer } from '../src/http/server.js';
import { migrateToLatest, openStore } from '../src/store/database.js';
import { createVault } from '../src/vault/index.js';
import { quantiles } from './quantiles.js';

const { values } = parseArgs({
  options: {
    sqlite: { type: 'string' },
    postgres: { type: 'string' },
    'master-key': { type: 'string' },
    'no-audit': { type: 'boolean', default: false },
    'no-signing': { type: 'boolean', default: false },
    timings: { type: 'boolean', default: false },
    // bench/broker.ts sends brokered requests to an upstream on loopback, as serve --broker-allow-private allows.
    'broker-allow-private': { type: 'boolean', default: false },
    metrics: { type: 'boolean', default: false },
  },
});

const store = openStore(values.postgres ? { kind: 'postgres', url: values.postgres, poolSize: 10 } : { kind: 'sqlite', file: values.sqlite ?? 'bench.db' });
await migrateToLatest(store);
const logger = pino({ level: 'warn' });
const metrics = values.metrics ? prometheusMetrics() : undefined;
const vault = createVault({
  ...(metrics ? { metrics } : {}),
  store,
  masterKey: masterKeyFromBytes(Buffer.from(values['master-key'] ?? '', 'base64')),
  log: logger,
  benchmark: { benchmarkSkipReadEvents: values['no-audit'], benchmarkUnsignedHeads: values['no-signing'] },
  broker: { allowPrivate: values['broker-allow-private'] },
});
await store.readEvents.ready();
// The benchmark loads one agent key far beyond any real agent's rate: no per-key limit here.
const app = await buildServer({ vault, logger, limits: { readsPerSecond: Number.POSITIVE_INFINITY, brokeredRequestsPerSecond: Number.POSITIVE_INFINITY }, ...(metrics ? { metricsEndpoint: { metrics, token: 'bench-metrics-token' } } : {}) });
if (values.timings) recordTimings(app);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);

/**
 * With --timings: how long each request spent inside this server (Fastify's elapsedTime, from the
 * parsed request to the response handed to the socket), so that the benchmark can tell the server's
 * own latency from the waits of a client that shares its cores. GET /__bench/timings returns the
 * quantiles per route since the last call, and starts afresh. Off for the peak rates: the hook costs
 * the hello-world a larger share of its time than the read.
 */
function recordTimings(app: Awaited<ReturnType<typeof buildServer>>): void {
  const timings = new Map<string, number[]>();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? request.url;
    const samples = timings.get(route) ?? [];
    if (samples.length === 0) timings.set(route, samples);
    samples.push(reply.elapsedTime);
  });
  app.get('/__bench/timings', async () => {
    const figures = Object.fromEntries(
      [...timings].map(([route, samples]) => {
        const at = quantiles(samples);
        return [route, { count: samples.length, p50: at(0.5), p99: at(0.99), p999: at(0.999) }];
      }),
    );
    timings.clear();
    return figures;
  });
}

process.on('SIGTERM', () => {
  void app.close().then(() => vault.close()).then(() => process.exit(0));
});
