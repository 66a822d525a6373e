import type { FastifyInstance } from 'fastify';

/**
 * `serve --access-log`: one JSON line per answered request, at info, through the request's own logger
 * (so it carries `reqId`, the id the answer sends as x-request-id). It names the route template
 * (`/runtime/v1/secrets/:name`), never the path as sent: a path holds secret and agent names, and a
 * query string can hold anything. Off by default, since a line per request costs about a third of peak
 * throughput (STACK.md); the audit trail already records every read and change.
 */
export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, route: request.routeOptions.url ?? '(no route)', status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 100) / 100 },
      'request',
    );
    done();
  });
}
