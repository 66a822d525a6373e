/**
 * The real server (createVault + buildServer, as `agent-secrets serve` wires them) for benchmarks, in
 * its own process. Prints {"port": N} once listening.
 *
 *   tsx bench/server.ts --sqlite FILE | --postgres URL   --master-key BASE64   [--no-audit]
 *
 * --no-audit answers reads without writing their audit events: it exists only here, to show what the
 * audit costs, and breaks the product's promise (SPEC S13); the CLI cannot set it.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { masterKeyFromBytes } from '../src/crypto/masterKey.js';
import { buildServer } from '../src/http/server.js';
import { migrateToLatest, openStore } from '../src/store/database.js';
import { createVault } from '../src/vault/index.js';

const { values } = parseArgs({
  options: {
    sqlite: { type: 'string' },
    postgres: { type: 'string' },
    'master-key': { type: 'string' },
    'no-audit': { type: 'boolean', default: false },
  },
});

const store = openStore(values.postgres ? { kind: 'postgres', url: values.postgres, poolSize: 10 } : { kind: 'sqlite', file: values.sqlite ?? 'bench.db' });
await migrateToLatest(store);
const logger = pino({ level: 'warn' });
const vault = createVault({
  store,
  masterKey: masterKeyFromBytes(Buffer.from(values['master-key'] ?? '', 'base64')),
  log: logger,
  benchmarkSkipReadEvents: values['no-audit'],
});
await store.readEvents.ready();
// The benchmark loads one agent key far beyond any real agent's rate: no per-key limit here.
const app = await buildServer({ vault, logger, limits: { readsPerSecond: Number.POSITIVE_INFINITY } });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => vault.close()).then(() => process.exit(0));
});
