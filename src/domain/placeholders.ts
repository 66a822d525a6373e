import { SECRET_NAME_PATTERN } from './names.js';

/**
 * Placeholders of a brokered request (SPEC S26): `{{secret:NAME}}` for a single value and
 * `{{secret:NAME.KEY}}` for one key of a key/value secret. Pure: finding and filling them.
 *
 * Secret names and keys may both hold "." themselves, so `{{secret:a.b.c}}` is read as the secret
 * `a.b.c` when the account has one, else as key `c` of secret `a.b`, else key `b.c` of secret `a`
 * (the longest secret name first): `references` lists those readings in that order.
 */

export const PLACEHOLDER_OPEN = '{{secret:';
const PLACEHOLDER = /\{\{secret:([^{}]*)\}\}/g;

/** One way to read a placeholder: a secret, and the key of it (undefined: the whole single value). */
export interface Reading {
  name: string;
  key: string | undefined;
}

export interface Placeholder {
  /** The text between `{{secret:` and `}}`. */
  text: string;
  /** Every valid reading, the longest secret name first. */
  readings: Reading[];
}

/** The readings of a placeholder's text, or a string saying why it names nothing. */
export function readingsOf(text: string): Reading[] | string {
  const readings: Reading[] = [];
  if (SECRET_NAME_PATTERN.test(text)) readings.push({ name: text, key: undefined });
  for (let dot = text.lastIndexOf('.'); dot > 0; dot = text.lastIndexOf('.', dot - 1)) {
    const name = text.slice(0, dot);
    const key = text.slice(dot + 1);
    if (SECRET_NAME_PATTERN.test(name) && SECRET_NAME_PATTERN.test(key)) readings.push({ name, key });
  }
  if (readings.length === 0) return `"{{secret:${text.slice(0, 140)}}}" does not name a secret: write {{secret:NAME}} or {{secret:NAME.KEY}}`;
  return readings;
}

/**
 * Every placeholder in `text`, or a problem: an opening `{{secret:` that is not closed, or a
 * placeholder whose name breaks the naming rule (SPEC S1).
 */
export function findPlaceholders(text: string): Placeholder[] | string {
  const found: Placeholder[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const inner = match[1] ?? '';
    const readings = readingsOf(inner);
    if (typeof readings === 'string') return readings;
    found.push({ text: inner, readings });
  }
  // Any opening left over after removing the well-formed ones is malformed (unclosed, or braces inside).
  if (text.replace(PLACEHOLDER, '').includes(PLACEHOLDER_OPEN)) return 'has a "{{secret:" that is not closed by "}}" (write {{secret:NAME}} or {{secret:NAME.KEY}})';
  return found;
}

/** Whether text holds a placeholder, also percent-encoded (as a URL parser may have left it in a path). */
export function mentionsPlaceholder(text: string): boolean {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    // A malformed escape: look at the text as it is.
  }
  return text.includes(PLACEHOLDER_OPEN) || decoded.includes(PLACEHOLDER_OPEN) || /%7b%7bsecret/i.test(text);
}

/** `text` with each placeholder replaced by `fill(placeholder text)`, in one pass (a value is never re-scanned). */
export function fillPlaceholders(text: string, fill: (inner: string) => string): string {
  return text.replace(PLACEHOLDER, (_whole, inner: string) => fill(inner));
}
