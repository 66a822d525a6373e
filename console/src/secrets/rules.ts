import { SECRET_NAME_PATTERN, SECRET_NAME_RULE, suggestSecretName } from '../../../src/domain/names.js';

/** The console's live checks: the same rules the server enforces (SPEC S1), told before a round trip. */

export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_KV_KEYS = 100;
export const MAX_DESCRIPTION_CHARS = 1000;
export { SECRET_NAME_RULE };

const bytes = (text: string): number => new TextEncoder().encode(text).length;

export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Give the secret a name.';
  if (name.length > 128) return `At most 128 characters (this is ${name.length}).`;
  if (name === '.' || name === '..') return 'A name of only "." or ".." cannot be reached in a web address: add a letter or digit.';
  if (!SECRET_NAME_PATTERN.test(name)) return 'Use only letters, digits, "_", "-" and "." (no spaces).';
  return undefined;
}

/** "Stripe API key" → "stripe_api_key"; undefined when the name already has the suggested form. */
export function suggestedName(name: string): string | undefined {
  const suggestion = suggestSecretName(name);
  return suggestion !== '' && suggestion !== name ? suggestion : undefined;
}

export interface KeyValueRow {
  id: number;
  key: string;
  value: string;
}

export interface ValueDraft {
  kind: 'single' | 'kv';
  single: string;
  rows: KeyValueRow[];
}

let nextRowId = 1;
export const newRow = (key = ''): KeyValueRow => ({ id: nextRowId++, key, value: '' });
export const emptyDraft = (kind: 'single' | 'kv' = 'single', keys: string[] = []): ValueDraft => ({
  kind,
  single: '',
  rows: keys.length > 0 ? keys.map((key) => newRow(key)) : [newRow(), newRow()],
});

/** Problems per place: "value" for the whole value, or a row id for one key/value row. */
export interface ValueProblems {
  value?: string;
  rows: Record<number, string>;
}

export function valueProblems(draft: ValueDraft): ValueProblems {
  if (draft.kind === 'single') {
    const size = bytes(draft.single);
    if (size === 0) return { value: 'Enter the value.', rows: {} };
    if (size > MAX_VALUE_BYTES) return { value: `At most 64 KiB (this is ${size} bytes).`, rows: {} };
    return { rows: {} };
  }
  const rows: Record<number, string> = {};
  const seen = new Map<string, number>();
  let total = 0;
  for (const row of draft.rows) {
    if (row.key === '') rows[row.id] = 'Give this key a name.';
    else if (!SECRET_NAME_PATTERN.test(row.key)) rows[row.id] = 'Key names use letters, digits, "_", "-" and "." (no spaces).';
    else if (seen.has(row.key.toLowerCase())) rows[row.id] = `"${row.key}" is used twice (keys are unique ignoring case).`;
    else if (row.value === '') rows[row.id] = `Enter the value of "${row.key}".`;
    seen.set(row.key.toLowerCase(), row.id);
    total += bytes(row.key) + bytes(row.value);
  }
  if (draft.rows.length === 0) return { value: 'Add at least one key.', rows };
  if (draft.rows.length > MAX_KV_KEYS) return { value: `At most ${MAX_KV_KEYS} keys (this has ${draft.rows.length}).`, rows };
  if (total > MAX_VALUE_BYTES) return { value: `Keys and values must be at most 64 KiB in all (this is ${total} bytes).`, rows };
  return { rows };
}

export const hasProblems = (problems: ValueProblems): boolean => problems.value !== undefined || Object.keys(problems.rows).length > 0;

/** The value as the API takes it: a string, or an object of strings. */
export function valueOf(draft: ValueDraft): string | Record<string, string> {
  if (draft.kind === 'single') return draft.single;
  return Object.fromEntries(draft.rows.map((row) => [row.key, row.value]));
}

/**
 * Places a server error next to its field: "value.client_id" on that key's row, "value" on the
 * value as a whole. Returns undefined when the field is not the value's.
 */
export function valueProblemFromServer(draft: ValueDraft, field: string | undefined, message: string): ValueProblems | undefined {
  if (field === undefined || (field !== 'value' && !field.startsWith('value.'))) return undefined;
  const key = field.slice('value.'.length);
  const row = draft.kind === 'kv' && key !== '' ? draft.rows.find((candidate) => candidate.key === key) : undefined;
  return row ? { rows: { [row.id]: message } } : { value: message, rows: {} };
}
