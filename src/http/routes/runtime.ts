import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ENVIRONMENTS } from '../../domain/environments.js';
import { VaultError } from '../../domain/errors.js';
import type { Vault } from '../../vault/index.js';
import { bearerToken } from '../auth.js';
import { RateLimiter, enforce, type RateLimits } from '../rateLimit.js';
import { errorSchema, readableSecretSchema, secretValueResponse } from '../schemas.js';

export const agentKeyOf = (header: string | undefined): string => {
  if (header === undefined) throw new VaultError('unauthenticated', 'Send the agent key as "Authorization: Bearer <agent key>".');
  return header;
};

/** What agent functions call: `Authorization: Bearer <agent key>`. */
export function runtimeRoutes(vault: Vault, limits: RateLimits): FastifyPluginAsyncZod {
  const perKey = new RateLimiter(limits.readsPerSecond, limits.readsPerSecond * 2);
  return async (app) => {
    app.get(
      '/runtime/v1/secrets/:name',
      {
        schema: {
          summary: 'Read a secret as an agent (conv.utils.get_secret)',
          tags: ['runtime'],
          params: z.object({ name: z.string() }),
          response: {
            200: secretValueResponse,
            400: errorSchema,
            401: errorSchema,
            403: errorSchema,
            404: errorSchema,
            429: errorSchema,
            500: errorSchema.describe('secret_unreadable: the stored value fails its integrity check (altered or moved in the database); nothing is answered, the attempt is audited'),
            503: errorSchema,
          },
        },
      },
      async (request, reply) => {
        const agentKey = agentKeyOf(bearerToken(request));
        // Keyed by the key's public part ("ask_" and its id), so no secret stays in the limiter's memory.
        enforce(perKey, agentKey.slice(0, 20), reply, 'reads with this agent key');
        const secret = await vault.runtime.readSecretForAgent(agentKey, request.params.name);
        // A value must never sit in a shared or browser cache.
        void reply.header('cache-control', 'no-store');
        // The hot path: the vault returns exactly the documented shape, so plain JSON.stringify sends
        // it without a second pass through the response schema (which still documents it).
        void reply.serializer(JSON.stringify);
        return secret;
      },
    );

    app.get(
      '/runtime/v1/secrets',
      {
        schema: {
          summary: 'List the secrets this agent can read (names and kinds, never values)',
          tags: ['runtime'],
          response: {
            200: z.object({
              agent: z.string(),
              account: z.string(),
              environment: z.enum(ENVIRONMENTS).describe("The agent key's environment: what conv.env says"),
              secrets: z.array(readableSecretSchema),
            }),
            401: errorSchema,
            403: errorSchema,
          },
        },
      },
      async (request) => vault.runtime.listSecretsForAgent(agentKeyOf(bearerToken(request))),
    );
  };
}
