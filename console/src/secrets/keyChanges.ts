import { SECRET_NAME_PATTERN } from '../../../src/domain/names.js';
import { MAX_KV_KEYS, newRow, type KeyValueRow } from './rules';

/**
 * A partial edit of a key/value secret (PATCH valueKeys): each current key is kept as it is, given a
 * new value, or removed; new keys may be added. Only what changes is sent, so rotating client_secret
 * never asks for client_id again.
 */
export interface KeyChangesDraft {
  current: { key: string; value: string; remove: boolean }[];
  added: KeyValueRow[];
}

export const startKeyChanges = (keys: string[]): KeyChangesDraft => ({ current: keys.map((key) => ({ key, value: '', remove: false })), added: [] });

export const addKeyRow = (draft: KeyChangesDraft): KeyChangesDraft => ({ ...draft, added: [...draft.added, newRow()] });

/** Problems by place: a current key's name, an added row's id, or the edit as a whole. */
export interface KeyChangeProblems {
  whole?: string;
  current: Record<string, string>;
  added: Record<number, string>;
}

export function keyChangeProblems(draft: KeyChangesDraft): KeyChangeProblems {
  const problems: KeyChangeProblems = { current: {}, added: {} };
  const kept = draft.current.filter((row) => !row.remove);
  const taken = new Set(kept.map((row) => row.key.toLowerCase()));
  for (const row of draft.added) {
    if (row.key === '') problems.added[row.id] = 'Give this key a name.';
    else if (!SECRET_NAME_PATTERN.test(row.key)) problems.added[row.id] = 'Key names use letters, digits, "_", "-" and "." (no spaces).';
    else if (taken.has(row.key.toLowerCase())) problems.added[row.id] = `"${row.key}" is already a key (keys are unique ignoring case): give it a new value above instead.`;
    else if (row.value === '') problems.added[row.id] = `Enter the value of "${row.key}".`;
    taken.add(row.key.toLowerCase());
  }
  const remaining = kept.length + draft.added.length;
  if (remaining === 0) problems.whole = 'A key/value secret keeps at least one key: keep one, or add one.';
  else if (remaining > MAX_KV_KEYS) problems.whole = `At most ${MAX_KV_KEYS} keys (this would leave ${remaining}).`;
  else if (Object.keys(problems.added).length === 0 && Object.keys(valueKeysOf(draft)).length === 0) problems.whole = 'Nothing to save: type a new value, remove a key or add one.';
  return problems;
}

export const hasKeyChangeProblems = (problems: KeyChangeProblems): boolean =>
  problems.whole !== undefined || Object.keys(problems.current).length > 0 || Object.keys(problems.added).length > 0;

/** The PATCH body's valueKeys: new strings for changed and added keys, null for removed ones. */
export function valueKeysOf(draft: KeyChangesDraft): Record<string, string | null> {
  const changes = new Map<string, string | null>();
  for (const row of draft.current) {
    if (row.remove) changes.set(row.key, null);
    else if (row.value !== '') changes.set(row.key, row.value);
  }
  for (const row of draft.added) changes.set(row.key, row.value);
  return Object.fromEntries(changes);
}

export const isDirty = (draft: KeyChangesDraft): boolean => draft.added.length > 0 || draft.current.some((row) => row.remove || row.value !== '');

/** Places a server refusal ("valueKeys.client_secret") next to its row; anything else on the whole edit. */
export function keyChangeProblemFromServer(draft: KeyChangesDraft, field: string | undefined, message: string): KeyChangeProblems {
  const key = field?.startsWith('valueKeys.') ? field.slice('valueKeys.'.length) : undefined;
  if (key !== undefined && draft.current.some((row) => row.key === key)) return { current: { [key]: message }, added: {} };
  const added = key === undefined ? undefined : draft.added.find((row) => row.key === key);
  if (added) return { current: {}, added: { [added.id]: message } };
  return { whole: message, current: {}, added: {} };
}
