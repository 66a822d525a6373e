import type { FastifyInstance } from 'fastify';
import type { Vault } from '../vault/index.js';

/**
 * GET /readyz: 200 while this instance can answer reads (the database takes writes and the audit
 * writer runs), else 503 naming the check that failed, for a load balancer to send traffic elsewhere.
 * GET /healthz stays the liveness check: it answers while the process does, whatever the database.
 * The answer names the check and a fixed reason, never the database's error (the log has that).
 */
export function registerReadiness(app: FastifyInstance, vault: Pick<Vault, 'readiness'>): void {
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const readiness = await vault.readiness.check();
    void reply.header('cache-control', 'no-store');
    if (readiness.ready) return { ready: true };
    return reply.status(503).send({
      error: { code: 'unavailable', message: `Not ready: ${readiness.reason}.` },
      check: readiness.check,
    });
  });
}
