import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Turns between the two SQLite connections of one process that write: the request thread's (changes)
 * and the audit writer thread's (read events). Left to SQLite alone, a connection that finds the
 * other writing sleeps and polls: on the request thread that sleep blocks the event loop, and a side
 * that writes back to back starves the other until the busy timeout (5 s) runs out. Two flags in
 * memory both threads share let each side step aside for the other instead; SQLite's locks still
 * decide between this process and any other, and keep every transaction correct if a flag is stale.
 */
export interface WriteTurn {
  /** Before BEGIN: wait until the other side has had its turn. */
  before(): Promise<void> | void;
  /** The transaction has begun (or failed to): the other side may queue behind it. */
  begun(): void;
  /** The transaction has ended. */
  ended(): void;
}

const WRITER_WRITING = 0;
const REQUEST_WAITING = 1;

/** How long either side defers at most, so that a side that died with its flag up holds nobody for long. */
const REQUEST_DEFERS_MS = 100;
const WRITER_DEFERS_MS = 20;

export function sharedWriteTurns(buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
  const flags = new Int32Array(buffer);

  /** The request thread never blocks: it yields to the event loop while the writer thread writes. */
  const requestThread: WriteTurn = {
    async before() {
      Atomics.store(flags, REQUEST_WAITING, 1);
      const deadline = Date.now() + REQUEST_DEFERS_MS;
      while (Atomics.load(flags, WRITER_WRITING) === 1 && Date.now() < deadline) await nextTurn();
    },
    begun() {
      Atomics.store(flags, REQUEST_WAITING, 0);
      Atomics.notify(flags, REQUEST_WAITING);
    },
    ended() {},
  };

  /** The writer thread may block: it waits for a change that asked first to have begun. */
  const writerThread: WriteTurn = {
    before() {
      if (Atomics.load(flags, REQUEST_WAITING) === 1) Atomics.wait(flags, REQUEST_WAITING, 1, WRITER_DEFERS_MS);
      Atomics.store(flags, WRITER_WRITING, 1);
    },
    begun() {},
    ended() {
      Atomics.store(flags, WRITER_WRITING, 0);
    },
  };

  return { buffer, requestThread, writerThread };
}
