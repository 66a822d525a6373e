import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ENVIRONMENTS } from '../../domain/environments.js';
import { AUDIT_EXPORT_FORMAT, CHAIN_BREAK_REASONS } from '../../domain/audit.js';
import type { Vault } from '../../vault/index.js';
import { callerOf } from '../auth.js';
import { agentBody, agentKeyBody, agentParams, auditQuery, errorSchema, oneTimePasswordSchema, tokenBody, userBody, userPatchBody } from '../schemas.js';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const noContent = { 204: z.null().describe('No content'), ...errors };
const agentSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string(), createdBy: z.string() });
const keySchema = z.object({ id: z.string(), name: z.string(), environment: z.enum(ENVIRONMENTS), createdAt: z.string(), createdBy: z.string(), revokedAt: z.string().nullable() });
const userSchema = z.object({ id: z.string(), email: z.string(), role: z.string(), createdAt: z.string(), createdBy: z.string() });
const idParam = z.object({ id: z.string().min(1).max(100) });

/** Tokens, agents and keys, users, and the audit trail (SPEC S13, S16, S17). */
export function peopleRoutes(vault: Vault): FastifyPluginAsyncZod {
  const { people, passwords, agents, auditLog } = vault;
  return async (app) => {
    // Personal access tokens: each person manages their own.
    app.get(
      '/api/v1/tokens',
      { schema: { summary: 'Your personal access tokens', tags: ['tokens'], response: { 200: z.object({ tokens: z.array(z.object({ id: z.string(), name: z.string(), createdAt: z.string(), revokedAt: z.string().nullable() })) }), ...errors } } },
      async (request) => ({ tokens: await people.listTokens(callerOf(request)) }),
    );
    app.post(
      '/api/v1/tokens',
      { schema: { summary: 'Create a personal access token (shown once)', tags: ['tokens'], body: tokenBody, response: { 201: z.object({ id: z.string(), name: z.string(), token: z.string() }), ...errors } } },
      async (request, reply) => reply.status(201).send(await people.createToken(callerOf(request), request.body.name)),
    );
    app.delete('/api/v1/tokens/:id', { schema: { summary: 'Revoke a personal access token', tags: ['tokens'], params: idParam, response: noContent } }, async (request, reply) => {
      await people.revokeToken(callerOf(request), request.params.id);
      return reply.status(204).send(null);
    });

    // Agents and their keys.
    app.get('/api/v1/agents', { schema: { summary: "The account's agents", tags: ['agents'], response: { 200: z.object({ agents: z.array(agentSchema) }), ...errors } } }, async (request) => ({
      agents: await agents.listAgents(callerOf(request)),
    }));
    app.post('/api/v1/agents', { schema: { summary: 'Create an agent', tags: ['agents'], body: agentBody, response: { 201: agentSchema, ...errors } } }, async (request, reply) =>
      reply.status(201).send(await agents.createAgent(callerOf(request), request.body.name)),
    );
    app.get('/api/v1/agents/:agent', { schema: { summary: 'One agent', tags: ['agents'], params: agentParams, response: { 200: agentSchema, ...errors } } }, async (request) =>
      agents.getAgent(callerOf(request), request.params.agent),
    );
    app.patch('/api/v1/agents/:agent', { schema: { summary: 'Rename an agent', tags: ['agents'], params: agentParams, body: agentBody, response: { 200: agentSchema, ...errors } } }, async (request) =>
      agents.renameAgent(callerOf(request), request.params.agent, request.body.name),
    );
    app.delete('/api/v1/agents/:agent', { schema: { summary: 'Delete an agent with its keys and grants', tags: ['agents'], params: agentParams, response: noContent } }, async (request, reply) => {
      await agents.deleteAgent(callerOf(request), request.params.agent);
      return reply.status(204).send(null);
    });
    app.get('/api/v1/agents/:agent/keys', { schema: { summary: "An agent's keys (never the keys themselves)", tags: ['agents'], params: agentParams, response: { 200: z.object({ keys: z.array(keySchema) }), ...errors } } }, async (request) => ({
      keys: await agents.listAgentKeys(callerOf(request), request.params.agent),
    }));
    app.post(
      '/api/v1/agents/:agent/keys',
      { schema: { summary: 'Create an agent key (shown once)', tags: ['agents'], params: agentParams, body: agentKeyBody, response: { 201: keySchema.extend({ key: z.string(), agent: z.string() }), ...errors } } },
      async (request, reply) => reply.status(201).send(await agents.createAgentKey(callerOf(request), request.params.agent, { name: request.body?.name, environment: request.body?.environment })),
    );
    app.delete('/api/v1/agents/:agent/keys/:id', { schema: { summary: 'Revoke an agent key', tags: ['agents'], params: agentParams.extend(idParam.shape), response: noContent } }, async (request, reply) => {
      await agents.revokeAgentKey(callerOf(request), request.params.agent, request.params.id);
      return reply.status(204).send(null);
    });

    // Users.
    app.get('/api/v1/users', { schema: { summary: "The account's users", tags: ['users'], response: { 200: z.object({ users: z.array(userSchema) }), ...errors } } }, async (request) => ({
      users: await people.listUsers(callerOf(request)),
    }));
    app.post(
      '/api/v1/users',
      { schema: { summary: 'Add a user; without a password the answer carries a one-time password', tags: ['users'], body: userBody, response: { 201: userSchema.extend({ password: z.string().optional() }), ...errors } } },
      async (request, reply) => reply.status(201).send(await people.createUser(callerOf(request), request.body)),
    );
    app.patch('/api/v1/users/:id', { schema: { summary: "Change a user's role", tags: ['users'], params: idParam, body: userPatchBody, response: { 200: userSchema, ...errors } } }, async (request) =>
      people.setRole(callerOf(request), request.params.id, request.body.role),
    );
    app.post(
      '/api/v1/users/:id/password-reset',
      {
        schema: {
          summary: "Reset a user's password (admins): a one-time password, shown once; ends that user's sessions (their tokens keep working)",
          tags: ['users'],
          params: idParam,
          response: { 200: oneTimePasswordSchema, ...errors },
        },
      },
      async (request) => passwords.resetPassword(callerOf(request), request.params.id),
    );
    app.delete('/api/v1/users/:id', { schema: { summary: 'Remove a user (never yourself)', tags: ['users'], params: idParam, response: noContent } }, async (request, reply) => {
      await people.removeUser(callerOf(request), request.params.id);
      return reply.status(204).send(null);
    });

    // The audit trail.
    app.get(
      '/api/v1/audit/verify',
      {
        schema: {
          summary: "Verify the account's audit chain: hash links and every signed head; reports the first altered, removed or reordered event",
          tags: ['audit'],
          response: {
            200: z.object({
              ok: z.boolean(),
              checked: z.number(),
              head: z.object({ seq: z.number(), hash: z.string() }),
              signedFrom: z.number().nullable().describe('the first signed event: events before it were written before the chain was signed'),
              signatures: z.number().describe('signed heads checked'),
              publicKey: z.string().describe("fingerprint of the audit key the signatures were checked with (GET /api/v1/audit/public-key)"),
              firstBroken: z.object({ seq: z.number(), reason: z.enum(CHAIN_BREAK_REASONS), message: z.string() }).nullable(),
            }),
            ...errors,
          },
        },
      },
      async (request) => auditLog.verifyAuditTrail(callerOf(request)),
    );
    app.get(
      '/api/v1/audit/public-key',
      {
        schema: {
          summary: "The account's audit public key (Ed25519, SPKI PEM): it checks the chain's signatures and cannot make them (docs/audit.md)",
          tags: ['audit'],
          response: { 200: z.object({ accountId: z.string(), publicKey: z.string(), fingerprint: z.string() }), ...errors },
        },
      },
      async (request) => auditLog.auditPublicKey(callerOf(request)),
    );
    app.get(
      '/api/v1/audit/head',
      {
        schema: {
          summary: "The chain's head as signed, for a witness to keep outside the store (agent-secrets audit heads)",
          tags: ['audit'],
          response: {
            200: z.object({
              account_id: z.string(),
              seq: z.number(),
              hash: z.string(),
              previous: z.number().nullable(),
              signature: z.string().nullable(),
              at: z.string().nullable(),
            }),
            ...errors,
          },
        },
      },
      async (request) => auditLog.signedHead(callerOf(request)),
    );
    app.get(
      '/api/v1/audit/export',
      {
        schema: {
          summary: "The account's audit events in chain order as JSON lines, with prev_hash, hash and signature, after a header line with the account's audit public key (see docs/audit.md)",
          tags: ['audit'],
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        // Before answering, so that a refusal is still a proper error response.
        const { publicKey } = await auditLog.auditPublicKey(caller);
        const events = auditLog.exportAuditTrail(caller);
        const first = await events.next();
        const header = { export: AUDIT_EXPORT_FORMAT, account_id: caller.accountId, public_key: publicKey, exported_at: new Date().toISOString() };
        async function* lines() {
          yield `${JSON.stringify(header)}\n`;
          if (!first.done) yield `${JSON.stringify(first.value)}\n`;
          for await (const event of events) yield `${JSON.stringify(event)}\n`;
        }
        return reply.type('application/x-ndjson').send(Readable.from(lines()));
      },
    );
    app.get(
      '/api/v1/audit',
      {
        schema: {
          summary: 'Audit events, newest first, filtered by secret, agent, actor, action, outcome, environment and time',
          tags: ['audit'],
          querystring: auditQuery,
          response: {
            200: z.object({
              events: z.array(
                z.object({
                  seq: z.number(),
                  at: z.string(),
                  actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
                  action: z.string(),
                  secret: z.string().nullable(),
                  version: z.number().nullable(),
                  agent: z.string().nullable(),
                  agentId: z.string().nullable(),
                  outcome: z.string(),
                  environment: z.string().nullable().describe('The environment of the event (a read\'s key, a changed override), if any'),
                  detail: z.unknown(),
                }),
              ),
              next: z.number().nullable(),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const { secret, since, until, ...rest } = request.query;
        // Stored times carry milliseconds; normalising keeps text comparison in time order.
        const iso = (text: string | undefined) => (text === undefined ? undefined : new Date(text).toISOString());
        return auditLog.listAuditEvents(callerOf(request), { ...rest, secretName: secret, since: iso(since), until: iso(until) });
      },
    );
  };
}
