/**
 * Removes given strings from an upstream's answer before it leaves the vault (SPEC S26): every
 * occurrence of each form, as UTF-8 bytes, in the body and in each header value, becomes `***`.
 * Working on bytes (not decoded text) catches a value in a binary body and in header bytes alike.
 * Which forms stand for a value (raw, base64, URL, JSON) is the caller's to say.
 */
export const SCRUBBED = '***';

/** Byte patterns of the forms, longest first (latin1 strings: one character per byte). */
export function bytePatterns(forms: readonly string[]): string[] {
  return [...new Set(forms.filter((form) => form.length > 0).map((form) => Buffer.from(form, 'utf8').toString('latin1')))].sort((a, b) => b.length - a.length);
}

/** `bytes` (as latin1 text) with every pattern replaced, overlapping matches merged into one mask. */
function scrubLatin1(text: string, patterns: readonly string[]): { text: string; found: boolean } {
  const ranges: Array<[number, number]> = [];
  for (const pattern of patterns) {
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) ranges.push([at, at + pattern.length]);
  }
  if (ranges.length === 0) return { text, found: false };
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, stop] of ranges) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], stop);
    else merged.push([start, stop]);
  }
  let out = '';
  let at = 0;
  for (const [start, stop] of merged) {
    out += text.slice(at, start) + SCRUBBED;
    at = stop;
  }
  return { text: out + text.slice(at), found: true };
}

export function scrubBytes(body: Buffer, patterns: readonly string[]): { body: Buffer; found: boolean } {
  if (patterns.length === 0 || body.length === 0) return { body, found: false };
  const result = scrubLatin1(body.toString('latin1'), patterns);
  return result.found ? { body: Buffer.from(result.text, 'latin1'), found: true } : { body, found: false };
}

/** Header values as Node gives them (each byte one latin1 character), scrubbed the same way. */
export function scrubHeaders(headers: Record<string, string | string[]>, patterns: readonly string[]): { headers: Record<string, string | string[]>; found: boolean } {
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
