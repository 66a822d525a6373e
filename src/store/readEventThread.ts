/**
 * The thread that writes run-time reads' audit events on SQLite (see threadWriter in readEvents.ts):
 * its own connection, the same transaction code as every other writer. It is this thread's entry
 * point, so it wires the store with the one thing of crypto/ the writes need: the head signer, made of
 * the audit keys the request thread opened (through the keyring) and posted here. The master key and
 * the sealed keys never come here; signing here keeps the signature off the request thread.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { HeadSigningKeys } from '../crypto/auditSigning.js';
import { openStore } from './database.js';
import { checkWritable, probeWrites } from './writable.js';
import { groupCommit, readEventTransaction, type WorkerReply, type WorkerRequest, type WriterThreadData } from './readEvents.js';

const { file, writeTurns, pragmas, traceStatements } = workerData as WriterThreadData;
const statements: string[] = [];
const store = openStore(
  { kind: 'sqlite', file },
  { writerThreadTurns: writeTurns, ...(traceStatements ? { onQuery: (text: string) => statements.push(text) } : {}) },
);
// SQLite opens a file it may not write (immutable, a read-only mount) read-only without a word, and that
// connection stays read-only once the file is writable again. This thread only writes: it does not
// start on such a connection (its start fails the batch that asked for it), and the next batch
// starts a new thread, which opens anew.
await checkWritable(store);
const writeBatch = groupCommit(readEventTransaction(store), { concurrency: 1, gatherTurn: true });
const signer = new HeadSigningKeys();

async function handle(request: WorkerRequest): Promise<void> {
  if ('pragma' in request) await sql.raw(`pragma ${request.pragma}`).execute(store.db);
  else if ('batch' in request) await writeBatch(request.batch, signer);
  else if ('probe' in request) await probeWrites(store);
  else if ('auditKey' in request) signer.add(request.auditKey.accountId, request.auditKey.key as KeyObject);
}

for (const pragma of pragmas) await sql.raw(`pragma ${pragma}`).execute(store.db);

// Batches that arrive while one is being written are group-committed together (groupCommit). A
// pragma waits its turn for the connection, so it never lands inside a batch's transaction.
parentPort?.on('message', (request: WorkerRequest) => {
  handle(request).then(
    () => reply({ id: request.id }),
    (error: unknown) => {
      // Only the error's class, message and code cross: the store keeps values out of all three.
      const { name, message, code } = error as Error & { code?: unknown };
      reply({ id: request.id, failure: { name: String(name), message: String(message), ...(typeof code === 'string' ? { code } : {}) } });
    },
  );
});

function reply(message: WorkerReply): void {
  parentPort?.postMessage(traceStatements ? { ...message, statements: statements.splice(0) } : message);
}
