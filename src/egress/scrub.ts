import { needlesOf, rangesOf, type Needle } from '../sdk/masking.js';

/**
 * Removes given strings from an upstream's answer before it leaves the vault (SPEC S26): every
 * occurrence of each form, as UTF-8 bytes, in the body and in each header value, becomes `***`.
 * Working on bytes (not decoded text) catches a value in a binary body and in header bytes alike.
 * Which forms stand for a value (raw, base64, URL, JSON) is the caller's to say.
 */
export const SCRUBBED = '***';

/** Byte patterns of the forms, longest first (latin1 strings: one character per byte). */
export function bytePatterns(forms: readonly string[]): Needle[] {
  return needlesOf([...new Set(forms.filter((form) => form.length > 0).map((form) => Buffer.from(form, 'utf8').toString('latin1')))].sort((a, b) => b.length - a.length));
}

/** `text` (bytes as latin1) with every pattern replaced, overlapping matches merged into one mask. */
function scrubLatin1(text: string, patterns: readonly Needle[]): { text: string; found: boolean } {
  const ranges = rangesOf(text, patterns);
  if (ranges.length === 0) return { text, found: false };
  const parts: string[] = [];
  let at = 0;
  for (const [start, stop] of ranges) {
    parts.push(text.slice(at, start), SCRUBBED);
    at = stop;
  }
  parts.push(text.slice(at));
  return { text: parts.join(''), found: true };
}

export function scrubBytes(body: Buffer, patterns: readonly Needle[]): { body: Buffer; found: boolean } {
  if (patterns.length === 0 || body.length === 0) return { body, found: false };
  const result = scrubLatin1(body.toString('latin1'), patterns);
  return result.found ? { body: Buffer.from(result.text, 'latin1'), found: true } : { body, found: false };
}

/** Header values as Node gives them (each byte one latin1 character), scrubbed the same way. */
export function scrubHeaders(headers: Record<string, string | string[]>, patterns: readonly Needle[]): { headers: Record<string, string | string[]>; found: boolean } {
  let found = false;
  const one = (value: string): string => {
    const result = scrubLatin1(value, patterns);
    found ||= result.found;
    return result.text;
  };
  const scrubbed: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) scrubbed[name] = Array.isArray(value) ? value.map(one) : one(value);
  return { headers: scrubbed, found };
}
