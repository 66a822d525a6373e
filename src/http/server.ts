import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { VaultError } from '../domain/errors.js';
import type { Vault } from '../vault/index.js';
import { authenticateUser } from './auth.js';
import { registerConsole } from './console.js';
import { connectionErrorHandler, errorHandler, frameworkErrorHandler } from './errors.js';
import { registerJsonBody } from './jsonBody.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rateLimit.js';
import { peopleRoutes } from './routes/people.js';
import { runtimeRoutes } from './routes/runtime.js';
import { secretRoutes } from './routes/secrets.js';
import { sessionRoutes } from './routes/session.js';

export interface ServerOptions {
  vault: Vault;
  logger: FastifyBaseLogger;
  /** Mark the session cookie Secure (set when served over HTTPS). */
  secureCookies?: boolean;
  limits?: Partial<RateLimits>;
  /** Tests shorten these to see them hold; the service runs with DEFAULT_CONNECTION_LIMITS. */
  connections?: Partial<ConnectionLimits>;
}

/** How long a client may take and how many connections it may hold: a slow client cannot pin the service. */
export interface ConnectionLimits {
  /** The request line and headers must have arrived this long after the request began. */
  headersTimeoutMs: number;
  /** The whole request, body included, must have arrived this long after it began. */
  requestTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed. */
  idleTimeoutMs: number;
  /** Connections open at once; further ones are closed as they come. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000, maxConnections: 4096 };

// 64 KiB of value can take six times that as JSON escapes; anything larger is refused with 413.
const BODY_LIMIT = 1024 * 1024;

export async function buildServer(options: ServerOptions) {
  const { vault } = options;
  const connections = { ...DEFAULT_CONNECTION_LIMITS, ...options.connections };
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost a third of peak throughput and add nothing an audit event lacks.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    http: {
      headersTimeout: connections.headersTimeoutMs,
      requestTimeout: connections.requestTimeoutMs,
      // Node checks the two bounds above on this interval (30 s by default), which let a slow body
      // stay open up to twice the bound; checking often keeps the bound what it says.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, connections.headersTimeoutMs / 10)),
    },
    requestTimeout: connections.requestTimeoutMs,
    connectionTimeout: connections.idleTimeoutMs,
    routerOptions: { maxParamLength: 512 },
    // Answered by the onRequest hook below instead, in the documented shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: connectionErrorHandler(connections),
  }).withTypeProvider<ZodTypeProvider>();
  app.server.maxConnections = connections.maxConnections;
  // Closing stops Node's checks of the bounds above, so a client dripping its request would hold a
  // shutdown open for ever: what is still open one request bound after closing began is cut.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    setTimeout(() => app.server.closeAllConnections(), connections.requestTimeoutMs).unref();
    done();
  });
  // A request that reaches a closing instance (pipelined, or on a busy keep-alive connection) is sent
  // elsewhere by its client or load balancer: 503, and the connection closes.
  app.addHook('onRequest', async () => {
    if (closing) throw new VaultError('unavailable', 'This instance is shutting down; send the request again and another instance (or this one, restarted) will answer.');
  });

  registerJsonBody(app);

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` } }),
  );
  // A NUL anywhere in the path or query is never meaningful, and PostgreSQL text cannot hold it.
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('%00') || request.url.includes('\u0000')) {
      throw new VaultError('invalid_input', 'The path and query must not contain NUL characters.', 'url');
    }
  });
  app.decorateRequest('caller', null);
  app.decorateRequest('csrfToken', null);
  const secure = options.secureCookies ?? false;
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    // API answers (tokens, keys, values, names) never belong in a cache.
    if (!reply.hasHeader('cache-control') && (request.url.startsWith('/api/') || request.url.startsWith('/runtime/'))) {
      void reply.header('cache-control', 'no-store');
    }
    if (secure) void reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'agent-secrets', version: '0.1.0', description: 'A secrets vault for voice and chat AI agents.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A personal access token (management) or an agent key (runtime)' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const limits = { ...DEFAULT_RATE_LIMITS, ...options.limits };
  await app.register(runtimeRoutes(vault, limits));
  await app.register(sessionRoutes(vault, { secureCookies: options.secureCookies ?? false, limits }));
  // Everything else under /api/v1 needs a signed-in caller; the hook is scoped to this plugin.
  await app.register(async (scope) => {
    // onRequest: who is calling is settled before the body is even read, so strangers get 401, not 400.
    scope.addHook('onRequest', authenticateUser(vault));
    await scope.register(secretRoutes(vault));
    await scope.register(peopleRoutes(vault));
  });
  await app.register(registerConsole);
  return app;
}
