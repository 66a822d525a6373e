import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VaultError } from '../domain/errors.js';
import { SSO_REFUSALS } from '../domain/sso.js';
import type { SignInMethod, StorageErrorSite, VaultMetrics } from '../vault/metrics.js';
import { bearerToken } from './auth.js';
import { sendError } from './errors.js';

/**
 * SPEC S30: the service's metrics in Prometheus text format, on a registry of its own (never
 * prom-client's global one, which anything in the process could add to). Labels hold outcomes (error
 * codes), route templates and fixed words only; see VaultMetrics.
 */
export interface PrometheusMetrics extends VaultMetrics {
  readonly registry: Registry;
}

/** Latencies of a read answered from one query and a group-committed audit write: sub-millisecond to seconds. */
const READ_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A brokered request waits for an outside API, bounded at 30 s by default (SPEC S26). */
const BROKERED_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Events per batch: 1 when idle, up to the writer's merge bound (2048) under load. */
const BATCH_EVENTS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];
const COMMIT_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Outcomes shown as 0 from the start, so that a rate() over them works before the first one happens. */
const READ_OUTCOMES = ['success', 'secret_not_found', 'missing_access', 'unauthenticated', 'invalid_input', 'vault_not_enabled', 'secret_unreadable', 'audit_unavailable', 'unavailable'];
const BROKERED_OUTCOMES = ['success', 'secret_not_found', 'missing_access', 'host_not_allowed', 'upstream_unreachable', 'upstream_timeout', 'invalid_input', 'unauthenticated'];
const SIGN_IN_OUTCOMES = ['success', 'unauthenticated', 'rate_limited', 'invalid_input', 'unavailable'];
/** An SSO sign-in's refusals (a closed set) are outcomes of their own. */
const SSO_OUTCOMES = ['success', ...Object.keys(SSO_REFUSALS)];
const STORAGE_SITES: StorageErrorSite[] = ['request', 'audit_write', 'readiness'];

export function prometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const reads = new Counter({ name: 'agent_secrets_runtime_reads_total', help: 'Run-time reads (GET /runtime/v1/secrets/{name}) by outcome', labelNames: ['outcome'], registers });
  const readSeconds = new Histogram({ name: 'agent_secrets_runtime_read_duration_seconds', help: 'Time the vault took to answer a run-time read, audit write included', buckets: READ_SECONDS, registers });
  const brokered = new Counter({ name: 'agent_secrets_brokered_requests_total', help: 'Brokered requests (POST /runtime/v1/requests) by outcome', labelNames: ['outcome'], registers });
  const brokeredSeconds = new Histogram({ name: 'agent_secrets_brokered_request_duration_seconds', help: 'Time a brokered request took, the upstream answer included', buckets: BROKERED_SECONDS, registers });
  const batchEvents = new Histogram({ name: 'agent_secrets_audit_batch_events', help: 'Audit events per committed batch of run-time reads', buckets: BATCH_EVENTS, registers });
  const commitSeconds = new Histogram({ name: 'agent_secrets_audit_batch_commit_seconds', help: 'Time from a batch of read events sent to the audit writer until it is durable', buckets: COMMIT_SECONDS, registers });
  const batchFailures = new Counter({ name: 'agent_secrets_audit_batch_failures_total', help: 'Batches of read events that could not be written (their reads failed closed with 503)', registers });
  const failedEvents = new Counter({ name: 'agent_secrets_audit_failed_events_total', help: 'Read events in batches that could not be written', registers });
  const storageErrors = new Counter({ name: 'agent_secrets_storage_errors_total', help: 'Times the database could not do its work (read-only, full, unreachable), by where it was noticed', labelNames: ['during'], registers });
  const rateLimited = new Counter({ name: 'agent_secrets_rate_limited_requests_total', help: 'Requests refused with 429, by route template', labelNames: ['route'], registers });
  const signIns = new Counter({ name: 'agent_secrets_sign_ins_total', help: 'Sign-in attempts by method and outcome', labelNames: ['method', 'outcome'], registers });

  for (const outcome of READ_OUTCOMES) reads.labels(outcome).inc(0);
  for (const outcome of BROKERED_OUTCOMES) brokered.labels(outcome).inc(0);
  for (const during of STORAGE_SITES) storageErrors.labels(during).inc(0);
  for (const outcome of SIGN_IN_OUTCOMES) signIns.labels('password', outcome).inc(0);
  for (const outcome of SSO_OUTCOMES) signIns.labels('sso', outcome).inc(0);
  batchFailures.inc(0);
  failedEvents.inc(0);

  // Arrow functions: callers may pass a method on its own (measured() does).
  return {
    registry,
    runtimeRead: (outcome: string, seconds: number) => {
      reads.inc({ outcome });
      readSeconds.observe(seconds);
    },
    brokeredRequest: (outcome: string, seconds: number) => {
      brokered.inc({ outcome });
      brokeredSeconds.observe(seconds);
    },
    auditBatch: (events: number, seconds: number) => {
      batchEvents.observe(events);
      commitSeconds.observe(seconds);
    },
    auditBatchFailed: (events: number) => {
      batchFailures.inc();
      failedEvents.inc(events);
    },
    storageError: (during: StorageErrorSite) => storageErrors.inc({ during }),
    rateLimited: (route: string) => rateLimited.inc({ route }),
    signIn: (method: SignInMethod, outcome: string) => signIns.inc({ method, outcome }),
  };
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * GET /metrics, for a scraper holding `token` (`Authorization: Bearer <token>`). Both sides are hashed
 * first, so the comparison takes the same time whatever the length or content of what was sent.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: PrometheusMetrics, token: string): void {
  const expected = digest(token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const sent = bearerToken(request);
    if (sent === undefined || !timingSafeEqual(digest(sent), expected)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      return sendError(reply, new VaultError('unauthenticated', 'Send the metrics token (the content of the --metrics-token-file) as "Authorization: Bearer <token>".'));
    }
    void reply.header('cache-control', 'no-store');
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
