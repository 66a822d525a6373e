import { z } from 'zod';
import { AGENT_NAME_PATTERN, AGENT_NAME_RULE, EMAIL_PATTERN, EMAIL_RULE, NO_CONTROL_CHARACTERS, PASSWORD_MAX, PASSWORD_MIN } from '../domain/names.js';
import { ENVIRONMENTS, PROMOTE_TARGETS, environmentSchema, promoteTargetSchema } from '../domain/environments.js';
import { ROLES } from '../domain/roles.js';
import { DELIVERIES, REVEALS, allowedHostsSchema, deliverySchema, descriptionSchema, revealSchema, secretNameSchema, secretValueSchema, valueKeysSchema } from '../domain/secrets.js';

/** Request and response shapes: they validate requests, shape answers and write the OpenAPI document. */

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

export const agentNameSchema = z.string({ error: `must be a string of ${AGENT_NAME_RULE}` }).regex(AGENT_NAME_PATTERN, { error: `must be ${AGENT_NAME_RULE}` });
export const emailSchema = z.string({ error: `must be ${EMAIL_RULE}` }).max(320, { error: 'must be at most 320 characters' }).regex(EMAIL_PATTERN, { error: `must be ${EMAIL_RULE}` });
export const passwordSchema = z
  .string({ error: 'must be a string' })
  .min(PASSWORD_MIN, { error: `must be at least ${PASSWORD_MIN} characters` })
  .max(PASSWORD_MAX, { error: `must be at most ${PASSWORD_MAX} characters` });
export const roleSchema = z.enum(ROLES, { error: 'must be "admin" or "member"' });
const refSchema = z.string().min(1).max(200).regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' });
const tokenNameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' });

/** Versions are stored as 32-bit integers (PostgreSQL `integer`); a larger number names no version. */
export const VERSION_MAX = 2_147_483_647;

/**
 * A whole number in a path or query, in plain decimal digits only: z.coerce.number would also take
 * "0x1", "1e0", " 1", "+1" or "01" (so version 0x1 restored version 1). The message states the rule,
 * for every way of breaking it.
 */
export function decimalInteger(min: number, max: number, what = 'a whole number') {
  const rule = `must be ${what} from ${min} to ${max}, in decimal digits`;
  return z
    .string({ error: rule })
    .regex(/^(0|[1-9][0-9]*)$/, { error: rule })
    .describe(`${what} from ${min} to ${max}, in decimal digits`)
    .transform(Number)
    .pipe(z.number().min(min, { error: rule }).max(max, { error: rule }));
}

export const versionNumber = z.number({ error: `must be a version number from 1 to ${VERSION_MAX}` }).int().min(1).max(VERSION_MAX);

export const secretParams = z.object({ name: z.string().min(1).max(200) });
export const versionParams = secretParams.extend({ version: decimalInteger(1, VERSION_MAX, 'a version number') });
export const agentParams = z.object({ agent: refSchema });

export const createSecretBody = z.strictObject(
  {
    name: secretNameSchema,
    description: descriptionSchema.optional(),
    value: secretValueSchema,
    agents: z.array(refSchema, { error: 'must be a list of agent names or ids' }).max(10_000).optional(),
    allowedHosts: allowedHostsSchema.optional(),
    delivery: deliverySchema.optional(),
    reveal: revealSchema.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export const updateSecretBody = z.strictObject(
  {
    description: descriptionSchema.optional(),
    value: secretValueSchema.optional().describe('The whole new value (a new version): replaces every key of a key/value secret'),
    valueKeys: valueKeysSchema.optional(),
    allowedHosts: allowedHostsSchema.optional(),
    delivery: deliverySchema.optional(),
    reveal: revealSchema.optional(),
    environment: environmentSchema.optional().describe('Set "value" or "valueKeys" as this environment\'s own value, its override (without it: the default value)'),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export const accessBody = z.strictObject({
  agents: z.array(refSchema, { error: 'must be a list of agent names or ids' }).max(10_000),
});

export const listSecretsQuery = z.object({
  search: z.string().max(128).optional(),
  after: z.string().max(128).optional(),
  limit: decimalInteger(1, 500).default(50),
});

const environmentEnum = z.enum(ENVIRONMENTS);

export const environmentParams = secretParams.extend({ environment: environmentSchema });

export const promoteBody = z.strictObject(
  { from: environmentSchema, to: promoteTargetSchema },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export const overrideSchema = z.object({ environment: environmentEnum, version: z.number(), updatedAt: z.string(), updatedBy: z.string() });
export const environmentValueSchema = z.object({ environment: environmentEnum, version: z.number(), source: z.enum(['default', 'override']) });

export const secretSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  kind: z.enum(['single', 'kv']),
  keys: z.array(z.string()),
  version: z.number(),
  agentsWithAccess: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  lastReadAt: z.string().nullable().describe('When any agent last read this secret (null: never); kept across revokes and re-grants'),
  allowedHosts: z.array(z.string()).describe('Hosts brokered requests may send it to (SPEC S25); empty: it cannot be brokered'),
  delivery: z.enum(DELIVERIES).describe('value: functions read it with get_secret; broker-only: only brokered requests use it (SPEC S27)'),
  reveal: z.enum(REVEALS).describe('never: nobody can reveal or copy the value; it can still be replaced (SPEC S27)'),
  overrides: z.array(overrideSchema).describe('The environments with a value of their own (SPEC S22)'),
});

/** A secret as an agent's "what can I read" list shows it (SPEC S11), with how to use it (S25, S27). */
export const readableSecretSchema = z.object({
  name: z.string(),
  kind: z.enum(['single', 'kv']),
  keys: z.array(z.string()),
  description: z.string(),
  delivery: z.enum(DELIVERIES).describe('broker-only: use it through conv.http.fetch; get_secret answers BrokerOnly'),
  allowedHosts: z.array(z.string()).describe('Where conv.http.fetch may send it'),
});

export const secretDetailSchema = secretSummarySchema.extend({
  environments: z.array(environmentValueSchema).describe('What a key of each environment reads now'),
});

export const promotionSchema = z.object({
  promotion: z.object({ from: environmentEnum, to: z.enum(PROMOTE_TARGETS), source: z.enum(['default', 'override']), fromVersion: z.number(), version: z.number() }),
  secret: secretDetailSchema,
});

export const revealedValueResponse = z.object({
  name: z.string(),
  kind: z.enum(['single', 'kv']),
  version: z.number(),
  value: z.union([z.string(), z.record(z.string(), z.string())]),
  environment: environmentEnum.nullable().describe('The environment whose override this version was set as; null for the default'),
});

export const secretValueResponse = z.object({
  name: z.string(),
  kind: z.enum(['single', 'kv']),
  version: z.number(),
  value: z.union([z.string(), z.record(z.string(), z.string())]),
  environment: environmentEnum.describe("The agent key's environment"),
  source: z.enum(['default', 'override']).describe("Whether the value is that environment's override or the secret's default"),
});

export const accessSchema = z.object({
  secret: z.string(),
  agents: z.array(
    z.object({
      agentId: z.string(),
      agentName: z.string(),
      granted: z.boolean(),
      grantedAt: z.string().nullable(),
      grantedBy: z.string().nullable(),
      lastReadAt: z.string().nullable().describe('When this agent last read the secret under its current grant (null: not since it was granted, or no grant); a revoke ends the grant, so a re-grant starts again at null'),
      lastReads: z.array(z.object({ environment: environmentEnum, version: z.number(), at: z.string() })).describe('Per environment: when the agent last read the secret there, and which version'),
    }),
  ),
});

export const loginBody = z.strictObject({ email: z.string().max(320).regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' }), password: z.string().max(PASSWORD_MAX) });
export const tokenBody = z.strictObject({ name: tokenNameSchema });
export const agentBody = z.strictObject({ name: agentNameSchema });
export const agentKeyBody = z
  .strictObject({ name: tokenNameSchema.optional(), environment: environmentSchema.optional().describe('Where the key\'s functions run (default live); fixed for the key\'s life') })
  .nullish();
/** SPEC S19: the current password is only compared, so it gets no rule but a bound; the new one gets the rule. */
export const passwordChangeBody = z.strictObject({
  currentPassword: z.string({ error: 'must be a string' }).max(PASSWORD_MAX, { error: `must be at most ${PASSWORD_MAX} characters` }),
  newPassword: passwordSchema,
});
export const oneTimePasswordSchema = z.object({ id: z.string(), email: z.string(), password: z.string().describe('A one-time password, shown once: it signs in once, to choose a new password, within 72 hours') });
export const userBody = z.strictObject({ email: emailSchema, role: roleSchema, password: passwordSchema.optional() });
export const userPatchBody = z.strictObject({ role: roleSchema });

export const auditQuery = z.object({
  secret: z.string().max(200).optional(),
  agent: z.string().max(200).optional(),
  actor: z.string().max(320).optional(),
  action: z.string().max(64).optional(),
  outcome: z.string().max(32).optional(),
  environment: environmentSchema.optional().describe('Events in this environment: reads by its keys, and changes to its override'),
  since: z.iso.datetime({ error: 'must be an ISO-8601 UTC time like 2026-01-31T12:00:00Z' }).optional(),
  until: z.iso.datetime({ error: 'must be an ISO-8601 UTC time like 2026-01-31T12:00:00Z' }).optional(),
  before: decimalInteger(1, Number.MAX_SAFE_INTEGER, 'a sequence number').optional(),
  limit: decimalInteger(1, 1000).default(100),
});
