import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Vault } from '../../vault/index.js';
import { callerOf } from '../auth.js';
import { ENVIRONMENTS, environmentSchema } from '../../domain/environments.js';
import {
  accessBody,
  agentParams,
  accessSchema,
  createSecretBody,
  environmentParams,
  environmentValueSchema,
  errorSchema,
  listSecretsQuery,
  promoteBody,
  promotionSchema,
  readableSecretSchema,
  revealedValueResponse,
  secretDetailSchema,
  secretParams,
  secretSummarySchema,
  updateSecretBody,
  versionNumber,
  versionParams,
} from '../schemas.js';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const tags = ['secrets'];
const unreadable = errorSchema.describe('secret_unreadable: the stored value fails its integrity check (altered or moved in the database); nothing is answered, the attempt is audited');

/** Secret management (SPEC S1–S6): admins of an account whose vault is enabled. */
export function secretRoutes(vault: Vault): FastifyPluginAsyncZod {
  const { secrets, environments } = vault;
  return async (app) => {
    app.get(
      '/api/v1/secrets',
      {
        schema: {
          summary: 'List secrets (never values), with search and paging',
          tags,
          querystring: listSecretsQuery,
          response: { 200: z.object({ secrets: z.array(secretSummarySchema), total: z.number(), next: z.string().nullable() }), ...errors },
        },
      },
      async (request) => secrets.listSecrets(callerOf(request), request.query),
    );

    app.post(
      '/api/v1/secrets',
      { schema: { summary: 'Create a secret', tags, body: createSecretBody, response: { 201: secretSummarySchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await secrets.createSecret(callerOf(request), request.body)),
    );

    app.get(
      '/api/v1/secrets/:name',
      { schema: { summary: "A secret's facts and what each environment reads (never a value)", tags, params: secretParams, response: { 200: secretDetailSchema, ...errors } } },
      async (request) => secrets.getSecret(callerOf(request), request.params.name),
    );

    app.patch(
      '/api/v1/secrets/:name',
      {
        schema: {
          summary: 'Change the description and/or set a new value (a new version)',
          description:
            'Give "value" to replace the whole value, or "valueKeys" to change some keys of a key/value secret and keep the others ' +
            '(e.g. {"valueKeys": {"client_secret": "new"}} rotates client_secret and keeps client_id; {"valueKeys": {"old_key": null}} removes a key). ' +
            'Either makes one new version. Giving both is refused with 400 naming valueKeys. With "environment", the new version is that environment\'s own value (its override, SPEC S22); without, the default\'s.',
          tags,
          params: secretParams,
          body: updateSecretBody,
          response: { 200: secretSummarySchema, ...errors, 500: unreadable },
        },
      },
      async (request) => secrets.updateSecret(callerOf(request), request.params.name, request.body),
    );

    app.delete(
      '/api/v1/secrets/:name',
      { schema: { summary: 'Delete a secret; reads fail with SecretNotFound from now on', tags, params: secretParams, response: { 204: z.null().describe('No content'), ...errors } } },
      async (request, reply) => {
        await secrets.deleteSecret(callerOf(request), request.params.name);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/v1/secrets/:name/reveal',
      {
        schema: {
          summary: "Reveal a secret's value (audited)",
          tags,
          params: secretParams,
          body: z.strictObject({ version: versionNumber.optional(), environment: environmentSchema.optional().describe('Reveal what this environment reads now') }).nullish(),
          response: { 200: revealedValueResponse, ...errors, 500: unreadable },
        },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store');
        return secrets.revealSecret(callerOf(request), request.params.name, request.body?.version, request.body?.environment);
      },
    );

    app.delete(
      '/api/v1/secrets/:name/environments/:environment',
      {
        schema: {
          summary: "Remove an environment's override: its reads use the default from the next call (the versions stay, restorable)",
          tags,
          params: environmentParams,
          response: { 200: secretDetailSchema, ...errors },
        },
      },
      async (request) => environments.removeEnvironmentOverride(callerOf(request), request.params.name, request.params.environment),
    );

    app.post(
      '/api/v1/secrets/:name/promote',
      {
        schema: {
          summary: 'Staged rotation: make the value "from" reads now the current value of "to" (an environment or "default"), as one new version',
          tags,
          params: secretParams,
          body: promoteBody,
          response: { 200: promotionSchema, ...errors, 500: unreadable },
        },
      },
      async (request) => environments.promote(callerOf(request), request.params.name, request.body.from, request.body.to),
    );

    app.get(
      '/api/v1/secrets/:name/access',
      { schema: { summary: 'Every agent of the account, with whether it may read this secret', tags, params: secretParams, response: { 200: accessSchema, ...errors } } },
      async (request) => secrets.getAccess(callerOf(request), request.params.name),
    );

    app.put(
      '/api/v1/secrets/:name/access',
      { schema: { summary: 'Replace the access list in one step', tags, params: secretParams, body: accessBody, response: { 200: accessSchema, ...errors } } },
      async (request) => secrets.setAccess(callerOf(request), request.params.name, request.body.agents),
    );

    app.get(
      '/api/v1/agents/:agent/secrets',
      {
        schema: {
          summary: 'The secrets an agent can read, with when it last read each (never values)',
          tags: ['agents'],
          params: agentParams,
          response: {
            200: z.object({
              agent: z.string(),
              secrets: z.array(
                readableSecretSchema.extend({
                  kind: readableSecretSchema.shape.kind.describe('What a live key of this agent reads (keys are live unless made for another environment); each environment\'s own is under environments'),
                  keys: readableSecretSchema.shape.keys.describe('The key names a live key reads; each environment\'s own are under environments'),
                  lastReadAt: z.string().nullable().describe('When this agent last read the secret under its current grant (null: not since it was granted)'),
                  environments: z
                    .array(environmentValueSchema.extend({ kind: z.enum(['single', 'kv']), keys: z.array(z.string()) }))
                    .describe("What this agent's keys read in each environment: version, whether it is the environment's own value, and that value's kind and key names"),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => secrets.listSecretsOfAgent(callerOf(request), request.params.agent),
    );

    app.get(
      '/api/v1/secrets/:name/versions',
      {
        schema: {
          summary: 'Versions of a secret, newest first (never values)',
          tags,
          params: secretParams,
          response: {
            200: z.object({
              versions: z.array(
                z.object({
                  version: z.number(),
                  kind: z.enum(['single', 'kv']),
                  keys: z.array(z.string()),
                  createdAt: z.string(),
                  createdBy: z.string(),
                  restoredFrom: z.number().nullable(),
                  environment: z.enum(ENVIRONMENTS).nullable().describe('The environment this version was set for; null for the default'),
                  current: z.boolean().describe('Whether its environment (or the default) reads it now'),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => ({ versions: await secrets.listVersions(callerOf(request), request.params.name) }),
    );

    app.post(
      '/api/v1/secrets/:name/versions/:version/restore',
      {
        schema: {
          summary: 'Restore an old version (makes a new version with its value)',
          tags,
          params: versionParams,
          response: { 200: secretSummarySchema, ...errors, 500: unreadable },
        },
      },
      async (request) => secrets.restoreVersion(callerOf(request), request.params.name, request.params.version),
    );
  };
}
