import { z } from 'zod';

/**
 * The deployment stages an agent's functions run in (SPEC S21): what `conv.env` says. Every agent key
 * belongs to one; a secret may hold an override for each (SPEC S22).
 */
export const ENVIRONMENTS = ['sandbox', 'pre-release', 'live'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The environment of a key made without one, and of every key made before environments existed. */
export const DEFAULT_KEY_ENVIRONMENT: Environment = 'live';

export const ENVIRONMENT_RULE = 'one of "sandbox", "pre-release", "live"';

export const isEnvironment = (text: unknown): text is Environment => typeof text === 'string' && (ENVIRONMENTS as readonly string[]).includes(text);

export const environmentSchema = z.enum(ENVIRONMENTS, { error: `must be ${ENVIRONMENT_RULE}` });

/** Where a promotion may go: an environment's override, or the secret's default value (SPEC S23). */
export const PROMOTE_TARGETS = [...ENVIRONMENTS, 'default'] as const;
export type PromoteTarget = (typeof PROMOTE_TARGETS)[number];
export const promoteTargetSchema = z.enum(PROMOTE_TARGETS, { error: `must be ${ENVIRONMENT_RULE} or "default"` });

/** Whether a read answered the environment's own value or fell back to the secret's default. */
export type ValueSource = 'default' | 'override';

export interface ResolvedVersion {
  version: number;
  source: ValueSource;
}

/**
 * The resolution rule (SPEC S22): a key of `environment` reads that environment's override when the
 * secret has one, else the default. The run-time query (src/store/runtime.ts) applies the same rule
 * in SQL, in its single round trip; this is the rule for every other caller (promotion, the console's
 * "what this agent would read", tests).
 */
export function resolveVersion(environment: Environment, defaultVersion: number, overrides: Partial<Record<Environment, number>>): ResolvedVersion {
  const override = overrides[environment];
  return override === undefined ? { version: defaultVersion, source: 'default' } : { version: override, source: 'override' };
}

/**
 * What an audit event's `detail` says about the environment: its JSON text is how `audit list --env`
 * finds events (see src/store/audit.ts). JSON.stringify escapes every quote inside a string, so this
 * exact text can only be the key itself, never part of a name or message.
 */
export const environmentDetailText = (environment: Environment): string => `"environment":${JSON.stringify(environment)}`;
