import { z } from 'zod';
import { ALLOWED_HOST_RULE, MAX_ALLOWED_HOSTS, normalizeAllowedHosts } from './hosts.js';
import { SECRET_NAME_PATTERN, SECRET_NAME_RULE, nameKey } from './names.js';

/** What a secret holds: one string, or a set of named strings (`client_id`, `client_secret`). */
export type SecretValue = string | Record<string, string>;
export type SecretKind = 'single' | 'kv';

export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_KV_KEYS = 100;
export const MAX_DESCRIPTION_CHARS = 1000;

export const kindOf = (value: SecretValue): SecretKind => (typeof value === 'string' ? 'single' : 'kv');

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

export const secretNameSchema = z
  .string({ error: `must be a string of ${SECRET_NAME_RULE}` })
  .regex(SECRET_NAME_PATTERN, { error: `must be ${SECRET_NAME_RULE}` });

export const descriptionSchema = z
  .string({ error: 'must be a string' })
  // Line breaks and tabs are fine in a description; NUL is refused (PostgreSQL text cannot hold it).
  .refine((text) => !text.includes('\u0000'), { error: 'must not contain NUL characters' })
  .max(MAX_DESCRIPTION_CHARS, { error: `must be at most ${MAX_DESCRIPTION_CHARS} characters` });

/**
 * A value on the wire: a string, or an object of 1–100 string values (SPEC S1). Checked by hand
 * rather than as a zod union so that every refusal names the exact field (`value.client_id`) and rule.
 */
export const secretValueSchema = z
  .unknown()
  .superRefine((input, ctx) => {
    for (const problem of valueProblems(input)) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }
  })
  .transform((input) => input as SecretValue)
  .meta({
    description: 'A single string (1 byte to 64 KiB) or an object of 1–100 string values (64 KiB in all)',
    anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'string' } }],
  });

interface ValueProblem {
  path: string[];
  message: string;
}

function valueProblems(input: unknown): ValueProblem[] {
  if (typeof input === 'string') {
    const bytes = utf8Bytes(input);
    if (bytes < 1) return [{ path: [], message: 'must not be empty (1 byte to 64 KiB)' }];
    if (bytes > MAX_VALUE_BYTES) return [{ path: [], message: 'must be at most 64 KiB (65536 bytes of UTF-8)' }];
    return [];
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ path: [], message: 'must be a string, or an object whose values are strings' }];
  }
  const keys = Object.keys(input);
  if (keys.length < 1 || keys.length > MAX_KV_KEYS) {
    return [{ path: [], message: `must have 1–${MAX_KV_KEYS} keys (has ${keys.length})` }];
  }
  const problems: ValueProblem[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (!SECRET_NAME_PATTERN.test(key)) {
      problems.push({ path: [key], message: `key must be ${SECRET_NAME_RULE}` });
    } else if (seen.has(nameKey(key))) {
      problems.push({ path: [key], message: 'keys must be unique ignoring case' });
    }
    seen.add(nameKey(key));
    if (typeof value !== 'string') {
      problems.push({ path: [key], message: 'must be a string: key/value secrets hold string values' });
      continue;
    }
    if (value.length === 0) problems.push({ path: [key], message: 'must not be empty' });
    total += utf8Bytes(key) + utf8Bytes(value);
  }
  if (total > MAX_VALUE_BYTES) problems.push({ path: [], message: 'keys and values must be at most 64 KiB (65536 bytes) in all' });
  return problems;
}

/**
 * How a value may leave the vault (SPEC S27): `value` — read by functions (get_secret) and usable in
 * brokered requests; `broker-only` — only filled into brokered requests, never answered to a function.
 */
export const DELIVERIES = ['value', 'broker-only'] as const;
export type Delivery = (typeof DELIVERIES)[number];
/** Whether people may reveal (and copy) the value: `never` is for good, once set (SPEC S27). */
export const REVEALS = ['allowed', 'never'] as const;
export type Reveal = (typeof REVEALS)[number];

export const deliverySchema = z.enum(DELIVERIES, { error: 'must be "value" or "broker-only"' });
export const revealSchema = z.enum(REVEALS, { error: 'must be "allowed" or "never"' });

/** SPEC S25: the hosts a secret may be sent to, checked and stored in canonical form (src/domain/hosts.ts). */
export const allowedHostsSchema = z
  .array(z.string({ error: `each must be ${ALLOWED_HOST_RULE}` }), { error: `must be a list of hosts, each ${ALLOWED_HOST_RULE}` })
  .max(MAX_ALLOWED_HOSTS, { error: `must hold at most ${MAX_ALLOWED_HOSTS} hosts` })
  .transform((entries, ctx) => {
    const normalized = normalizeAllowedHosts(entries);
    if ('hosts' in normalized) return normalized.hosts;
    ctx.addIssue({ code: 'custom', path: [normalized.index], message: normalized.problem });
    return z.NEVER;
  })
  .meta({ description: 'Hosts brokered requests may send this secret to: "api.stripe.com", "*.example.com", optionally with ":port"', type: 'array', items: { type: 'string' } });

/** Key names are listed (never values), so the console can show a key/value secret's shape. */
export const keyNamesOf = (value: SecretValue): string[] => (typeof value === 'string' ? [] : Object.keys(value));

/** The bytes that get sealed: the value's kind travels inside the ciphertext too. */
export function encodeSecretValue(value: SecretValue): Buffer {
  return Buffer.from(JSON.stringify({ v: value }), 'utf8');
}

export function decodeSecretValue(plaintext: Buffer): SecretValue {
  try {
    return (JSON.parse(plaintext.toString('utf8')) as { v: SecretValue }).v;
  } catch {
    // JSON.parse's own message quotes the text it choked on, which here is a value.
    throw new Error('a decrypted secret value is not in the expected form');
  }
}
