import { VaultError } from '../domain/errors.js';
import { isStorageUnavailable } from '../store/database.js';

/**
 * What the service reports for operators (SPEC S30), as counts and timings. The vault and the routes
 * call it; the HTTP layer implements it with prom-client (src/http/metrics.ts) when metrics are on, and
 * `noMetrics` stands in otherwise, so nothing here knows the metrics library.
 *
 * Every label value passed here comes from a fixed set (outcomes are error codes, routes are route
 * templates, sites and methods are literals): never a secret name, a value, a key, a token or a raw URL.
 */
export interface VaultMetrics {
  /** One run-time read (GET /runtime/v1/secrets/{name}) and how long the vault took to answer it. */
  runtimeRead(outcome: string, seconds: number): void;
  /** One brokered request (POST /runtime/v1/requests, SPEC S26) and how long it took, upstream included. */
  brokeredRequest(outcome: string, seconds: number): void;
  /** A batch of run-time reads' audit events committed: how many events, how long from sent to durable. */
  auditBatch(events: number, seconds: number): void;
  /** A batch of run-time reads' audit events that could not be written: its reads failed closed. */
  auditBatchFailed(events: number): void;
  /** The database could not do its work (read-only, full, unreachable), noticed `during` one of these. */
  storageError(during: StorageErrorSite): void;
  /** A request refused with 429, by its route template. */
  rateLimited(route: string): void;
  /** A sign-in attempt: `password` now, `sso` from the single sign-on flow. */
  signIn(method: SignInMethod, outcome: string): void;
}

export type StorageErrorSite = 'request' | 'audit_write' | 'readiness';
export type SignInMethod = 'password' | 'sso';

const nothing = (): void => undefined;

/** Metrics off: every report is a no-op, and measured() does not even time. */
export const noMetrics: VaultMetrics = {
  runtimeRead: nothing,
  brokeredRequest: nothing,
  auditBatch: nothing,
  auditBatchFailed: nothing,
  storageError: nothing,
  rateLimited: nothing,
  signIn: nothing,
};

/**
 * The outcome label of a failure: its error code in snake case (`SecretNotFound` → `secret_not_found`),
 * `unavailable` for a database that cannot answer, `internal` for anything else. Error codes are a
 * closed set (domain/errors.ts), so the label's values are bounded and hold nothing of the request.
 */
export function outcomeOf(error: unknown): string {
  if (error instanceof VaultError) return error.code.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toLowerCase();
  if (isStorageUnavailable(error)) return 'unavailable';
  return 'internal';
}

/**
 * `work`, reporting each call's outcome and duration to `report`. With metrics off, `work` itself: the
 * hot path then pays nothing at all; with them on, two clock reads and the report.
 */
export function measured<A extends unknown[], R>(metrics: VaultMetrics, report: (outcome: string, seconds: number) => void, work: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  if (metrics === noMetrics) return work;
  return async (...args: A): Promise<R> => {
    const started = performance.now();
    try {
      const result = await work(...args);
      report('success', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      report(outcomeOf(error), (performance.now() - started) / 1000);
      throw error;
    }
  };
}
