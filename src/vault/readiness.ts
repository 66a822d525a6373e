import type { Store } from '../store/database.js';
import { checkAnswers } from '../store/writable.js';
import { describe } from './audit.js';
import type { Log } from './log.js';
import type { VaultMetrics } from './metrics.js';

/** What a readiness check found: every run-time read writes an audit event, so both must take writes. */
export type Readiness = { ready: true } | { ready: false; check: 'storage' | 'audit_writer'; reason: string };

/** A check that has not answered by then counts as failed: a hung database is not a ready one. */
export const READINESS_TIMEOUT_MS = 2000;
/** How long an answer is given again without probing anew. */
export const READINESS_REUSE_MS = 1000;

class TimedOut extends Error {}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * SPEC S30's readiness: ready while the database answers on the connection that serves requests
 * (PostgreSQL: and allows writes), and the audit writer runs and its connection takes writes (SQLite:
 * the writer thread, src/store/readEventThread.ts, commits a one-page write; PostgreSQL: the pool,
 * which the first check proved). Every run-time read writes its audit event, so an instance whose
 * writer cannot write could answer reads only with 503.
 * The log says when readiness is lost and when it comes back, once each, not at every probe.
 */
export function readinessService(deps: { store: Store; log: Log; metrics: VaultMetrics }) {
  const { store, log, metrics } = deps;
  let wasReady = true;

  async function run(): Promise<Readiness> {
    try {
      await within(checkAnswers(store), READINESS_TIMEOUT_MS);
    } catch (error) {
      return failed('storage', 'the database does not answer (or, PostgreSQL, does not take writes)', error);
    }
    try {
      await within(store.readEvents.probe(), READINESS_TIMEOUT_MS);
    } catch (error) {
      return failed('audit_writer', 'the audit writer does not run or its connection does not take writes', error);
    }
    if (!wasReady) log.info({}, 'ready again: the database takes writes and the audit writer runs');
    wasReady = true;
    return { ready: true };
  }

  function failed(check: 'storage' | 'audit_writer', reason: string, error: unknown): Readiness {
    metrics.storageError('readiness');
    if (wasReady) log.warn({ check, failure: describe(error) }, `not ready: ${reason}`);
    wasReady = false;
    return { ready: false, check, reason };
  }

  // Probes that arrive while one runs share its answer, and an answer serves for READINESS_REUSE_MS:
  // anyone who can reach /readyz (it needs no credential) can make the database write at most one
  // probe a second, whatever the rate they send.
  let running: Promise<Readiness> | undefined;
  let last: { at: number; readiness: Readiness } | undefined;
  function check(): Promise<Readiness> {
    if (last !== undefined && performance.now() - last.at < READINESS_REUSE_MS) return Promise.resolve(last.readiness);
    running ??= run().then((readiness) => {
      last = { at: performance.now(), readiness };
      running = undefined;
      return readiness;
    });
    return running;
  }

  return { check };
}

export type ReadinessService = ReturnType<typeof readinessService>;
