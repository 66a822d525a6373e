import { z } from 'zod';
import { ALLOWED_HOST_RULE, MAX_ALLOWED_HOSTS, normalizeAllowedHosts } from './hosts.js';
import { RESERVED_KEY_NAMES, RESERVED_KEY_RULE, SECRET_NAME_PATTERN, SECRET_NAME_RULE, nameKey } from './names.js';

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

export interface ValueProblem {
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
    } else if (RESERVED_KEY_NAMES.has(key)) {
      problems.push({ path: [key], message: RESERVED_KEY_RULE });
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

/**
 * A partial edit of a key/value secret (PATCH `valueKeys`): each key maps to its new string, or to
 * `null` to remove it; keys not listed keep their values. The shape is checked here, the result (which
 * needs the stored value) by applyValueKeys.
 */
export type ValueKeyChanges = Record<string, string | null>;

export const valueKeysSchema = z
  .unknown()
  .superRefine((input, ctx) => {
    for (const problem of valueKeyChangeProblems(input)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  })
  .transform((input) => input as ValueKeyChanges)
  .meta({
    description:
      'Change some keys of a key/value secret and keep the others: each listed key gets the new string (added if new), a key set to null is removed. ' +
      'Not with "value" (which replaces the whole value). The result must still be a valid key/value value (1–100 keys, 64 KiB in all); ' +
      'makes one new version, like a value set. Refused on a single-value secret.',
    type: 'object',
    additionalProperties: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    minProperties: 1,
  });

function valueKeyChangeProblems(input: unknown): ValueProblem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ path: [], message: 'must be an object of key names to new strings (or null to remove a key)' }];
  }
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length < 1 || entries.length > MAX_KV_KEYS) return [{ path: [], message: `must list 1–${MAX_KV_KEYS} keys (lists ${entries.length})` }];
  const problems: ValueProblem[] = [];
  // Two new values for keys equal ignoring case are one key twice; a removal beside a new value is a
  // rename of its case ({"token": null, "Token": "…"}).
  const seen = new Set<string>();
  for (const [key, value] of entries) {
    if (!SECRET_NAME_PATTERN.test(key)) problems.push({ path: [key], message: `key must be ${SECRET_NAME_RULE}` });
    else if (value !== null && RESERVED_KEY_NAMES.has(key)) problems.push({ path: [key], message: RESERVED_KEY_RULE });
    else if (value !== null && seen.has(nameKey(key))) problems.push({ path: [key], message: 'keys must be unique ignoring case' });
    if (value === null) continue;
    seen.add(nameKey(key));
    if (typeof value !== 'string') problems.push({ path: [key], message: 'must be a string (the new value) or null (remove the key)' });
    else if (value.length === 0) problems.push({ path: [key], message: 'must not be empty (use null to remove the key)' });
  }
  return problems;
}

/**
 * The value a partial edit leaves: the current keys in their order, changed ones in place, new ones
 * at the end, removed ones gone. Refuses (naming `valueKeys` or `valueKeys.KEY`) an edit of a
 * single-value secret, the removal of a key that is not there, a new key that differs only in case
 * from a kept one (a lookalike, not a second key), and a result that breaks S1's rules.
 */
export function applyValueKeys(current: SecretValue, changes: ValueKeyChanges): { value: Record<string, string>; changed: string[]; removed: string[] } | ValueProblem {
  if (typeof current === 'string') {
    return { path: [], message: 'this secret holds a single value, not key/value pairs: set "value" instead' };
  }
  // A Map, not an object: a key named "__proto__" is a key like any other (assigning it on an object
  // would set the prototype and drop the key without a word).
  const next = new Map(Object.entries(current));
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [key, value] of Object.entries(changes)) {
    if (value !== null) continue;
    if (!next.delete(key)) return { path: [key], message: `is not a key of this secret (keys: ${Object.keys(current).join(', ')})` };
    removed.push(key);
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) continue;
    const lookalike = [...next.keys()].find((kept) => kept !== key && nameKey(kept) === nameKey(key));
    if (lookalike !== undefined) return { path: [key], message: `differs only in case from the key "${lookalike}": use its exact name, or remove it with null` };
    next.set(key, value);
    changed.push(key);
  }
  if (next.size < 1) return { path: [], message: 'would remove every key: a key/value secret keeps at least 1 (replace the whole "value" instead)' };
  if (next.size > MAX_KV_KEYS) return { path: [], message: `would leave ${next.size} keys: a key/value secret holds at most ${MAX_KV_KEYS}` };
  const value = Object.fromEntries(next);
  // A reserved key stored before the rule existed is kept as it is: it is not this edit's doing.
  const problem = valueProblems(value).find((p) => !(p.message === RESERVED_KEY_RULE && !changed.includes(p.path[0] ?? '')));
  if (problem) return problem;
  return { value, changed, removed };
}
