import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { brokeredRequestSchema } from '../../domain/brokeredRequest.js';
import { VaultError } from '../../domain/errors.js';
import type { Vault } from '../../vault/index.js';
import { bearerToken } from '../auth.js';
import { RateLimiter, enforce, type RateLimits } from '../rateLimit.js';
import { errorSchema } from '../schemas.js';
import { agentKeyOf } from './runtime.js';

// 10 MiB of body is 13.4 MiB as base64; a text body that needs heavy JSON escaping should travel as
// base64 ("bodyEncoding"). Bounded, since every request in flight holds its parsed body in memory.
const BROKER_BODY_LIMIT = 16 * 1024 * 1024;

/** SPEC S26: `POST /runtime/v1/requests`, an outbound request the vault sends with secrets filled in. */
export function brokeredRequestRoutes(vault: Vault, limits: RateLimits): FastifyPluginAsyncZod {
  // Their own budget: brokered requests never use up the reads' (nor the other way round).
  const perKey = new RateLimiter(limits.brokeredRequestsPerSecond, limits.brokeredRequestsPerSecond * 2);
  return async (app) => {
    app.post(
      '/runtime/v1/requests',
      {
        bodyLimit: BROKER_BODY_LIMIT,
        schema: {
          summary: 'Send an HTTP request with secrets filled in ({{secret:NAME}}, {{secret:NAME.KEY}}); the function never holds them (conv.http.fetch)',
          tags: ['runtime'],
          body: brokeredRequestSchema,
          response: {
            200: z.object({
              status: z.number(),
              headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
              body: z.string(),
              bodyEncoding: z.enum(['utf8', 'base64']),
            }).describe("The upstream's answer, every used value replaced by *** (raw, base64, URL and JSON encoded); a 3xx is answered, never followed"),
            400: errorSchema,
            401: errorSchema,
            403: errorSchema.describe('MissingAccess, HostNotAllowed (also a private, loopback or metadata address), vault_not_enabled'),
            404: errorSchema.describe('SecretNotFound'),
            413: errorSchema,
            429: errorSchema,
            502: errorSchema.describe('UpstreamUnreachable: no connection, a failed certificate check, or an answer over 10 MiB'),
            503: errorSchema,
            504: errorSchema.describe('UpstreamTimeout'),
          },
        },
      },
      async (request, reply) => {
        const agentKey = agentKeyOf(bearerToken(request));
        enforce(perKey, agentKey.slice(0, 20), reply, 'brokered requests with this agent key');
        const answer = await vault.broker.sendBrokeredRequest(agentKey, request.body).catch((error: unknown) => {
          // Every upstream slot of this instance is taken: worth a retry in a moment, as a 429 says.
          if (error instanceof VaultError && error.code === 'rate_limited') void reply.header('retry-after', '1');
          throw error;
        });
        void reply.header('cache-control', 'no-store');
        // The vault returns exactly the documented shape: plain JSON.stringify sends it without a second
        // pass through the response schema (up to 10 MiB of body), which still documents it.
        void reply.serializer(JSON.stringify);
        return answer;
      },
    );
  };
}
