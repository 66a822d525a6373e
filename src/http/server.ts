import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { VaultError } from '../domain/errors.js';
import { isStorageUnavailable, type Vault } from '../vault/index.js';
import { registerAccessLog } from './accessLog.js';
import { authenticateUser } from './auth.js';
import { registerConsole } from './console.js';
import { DEFAULT_CONNECTION_LIMITS, boundConnections, connectionOptions, type ConnectionLimits } from './connections.js';
import { errorHandler, frameworkErrorHandler } from './errors.js';
import { registerJsonBody } from './jsonBody.js';
import { registerMetricsRoute, type PrometheusMetrics } from './metrics.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rateLimit.js';
import { registerReadiness } from './readiness.js';
import { REQUEST_ID_HEADER, requestIdOf } from './requestId.js';
import { peopleRoutes } from './routes/people.js';
import { brokeredRequestRoutes } from './routes/brokeredRequests.js';
import { runtimeRoutes } from './routes/runtime.js';
import { secretRoutes } from './routes/secrets.js';
import { sessionRoutes } from './routes/session.js';
import { ssoSettingsRoutes, ssoSignInRoutes } from './routes/sso.js';

export interface ServerOptions {
  vault: Vault;
  logger: FastifyBaseLogger;
  /** Mark the session cookie Secure (set when served over HTTPS). */
  secureCookies?: boolean;
  limits?: Partial<RateLimits>;
  /** Tests shorten these to see them hold; the service runs with DEFAULT_CONNECTION_LIMITS (src/http/connections.ts). */
  connections?: Partial<ConnectionLimits>;
  /** The service's public URL, for the SSO redirect URI (`serve --public-url`); else each request's own. */
  publicUrl?: string;
  /** GET /metrics, for a scraper with this token; without it the route does not exist (404). */
  metricsEndpoint?: { metrics: PrometheusMetrics; token: string };
  /** One log line per request (serve --access-log); off by default, it costs a third of peak throughput. */
  accessLog?: boolean;
}

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
    ...connectionOptions(connections),
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: frameworkErrorHandler,
    // Kept from the caller when short and plain, else made here; sent back as x-request-id (below).
    requestIdHeader: false,
    genReqId: requestIdOf,
  }).withTypeProvider<ZodTypeProvider>();
  boundConnections(app, connections);
  registerJsonBody(app);

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const { metrics } = vault;
  app.setErrorHandler(function countedErrorHandler(error, request, reply) {
    if (isStorageUnavailable(error)) metrics.storageError('request');
    else if (error instanceof VaultError && error.code === 'rate_limited') metrics.rateLimited(request.routeOptions.url ?? '(no route)');
    return errorHandler.call(this, error, request, reply);
  });
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
    void reply.header(REQUEST_ID_HEADER, request.id);
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

  if (options.accessLog) registerAccessLog(app);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  registerReadiness(app, vault);
  if (options.metricsEndpoint) registerMetricsRoute(app, options.metricsEndpoint.metrics, options.metricsEndpoint.token);
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const limits = { ...DEFAULT_RATE_LIMITS, ...options.limits };
  await app.register(runtimeRoutes(vault, limits));
  await app.register(brokeredRequestRoutes(vault, limits));
  await app.register(sessionRoutes(vault, { secureCookies: options.secureCookies ?? false, limits }));
  await app.register(ssoSignInRoutes(vault, { secureCookies: options.secureCookies ?? false, limits, publicUrl: options.publicUrl }));
  // Everything else under /api/v1 needs a signed-in caller; the hook is scoped to this plugin.
  await app.register(async (scope) => {
    // onRequest: who is calling is settled before the body is even read, so strangers get 401, not 400.
    scope.addHook('onRequest', authenticateUser(vault));
    await scope.register(secretRoutes(vault));
    await scope.register(peopleRoutes(vault));
    await scope.register(ssoSettingsRoutes(vault, { publicUrl: options.publicUrl }));
  });
  await app.register(registerConsole);
  return app;
}
