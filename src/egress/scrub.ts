import { MIN_MASKED_LENGTH, base64MaskedForms, maskedForms, merge, needlesOf, rangesOf, type Needle, type Range } from '../sdk/masking.js';

/**
 * Removes given strings from an upstream's answer before it leaves the vault (SPEC S26): every
 * occurrence of each form, as UTF-8 bytes, in the body and in each header value, becomes `***`.
 * Working on bytes (not decoded text) catches a value in a binary body and in header bytes alike.
 * The forms that stand for a value (raw, base64, URL, JSON) are log masking's (SPEC S12), so the
 * two never disagree; base64 is also found when wrapped in lines.
 */
export const SCRUBBED = '***';

/** What stands for the used values in an answer, as bytes (latin1 strings: one character per byte). */
export interface ScrubPatterns {
  /** Every masked form of each value (log masking's, SPEC S12), found as it is. */
  plain: Needle[];
  /** The base64 ones, also found across the line breaks of wrapped base64. */
  base64: Needle[];
}

/**
 * The byte patterns of the values' forms, as UTF-8; and each value as Latin-1 bytes too, as a header
 * carries it on the wire (one byte per character), so an upstream that echoes those bytes is caught.
 */
export function scrubPatterns(values: Iterable<string>): ScrubPatterns {
  const all = [...values];
  const latin1 = all.flatMap((value) => [value, value.trim()]).filter((value) => value.length >= MIN_MASKED_LENGTH && /^[\x00-\xff]*$/.test(value));
  return { plain: longestFirst([...all.flatMap(maskedForms).map(utf8Bytes), ...latin1]), base64: longestFirst(all.flatMap(base64MaskedForms).map(utf8Bytes)) };
}

const utf8Bytes = (form: string): string => Buffer.from(form, 'utf8').toString('latin1');

const longestFirst = (patterns: readonly string[]): Needle[] => needlesOf([...new Set(patterns.filter((pattern) => pattern.length > 0))].sort((a, b) => b.length - a.length));

/**
 * Where base64 forms occur in wrapped base64 (MIME breaks lines every 76 characters, GitHub's contents
 * API every 60, JSON-escaped there as "\\n"): each block of base64 runs joined by single line breaks
 * is searched without its line breaks, and what is found there is mapped back into the text. Scanned
 * character by character, with no regular expression whose backtracking over a block of millions of
 * lines would overflow, and nothing kept per line.
 */
function wrappedBase64Ranges(text: string, needles: readonly Needle[]): Range[] {
  if (needles.length === 0 || !(text.includes('\n') || text.includes('\\n'))) return [];
  const ranges: Range[] = [];
  // Each block's characters without its line breaks, one byte each (the text is bytes as latin1).
  const compact = Buffer.allocUnsafe(text.length);
  for (let at = 0; at < text.length; ) {
    if (!isBase64(text.charCodeAt(at))) {
      at++;
      continue;
    }
    const block = wrappedBlockAt(text, at, compact);
    if (block.lineBreaks > 0) {
      const found = rangesOf(compact.toString('latin1', 0, block.length), needles);
      const inText = inTextPositions(text, at, found.flatMap(([start, stop]) => [start, stop - 1]));
      for (let i = 0; i < inText.length; i += 2) ranges.push([inText[i]!, inText[i + 1]! + 1]);
    }
    at = block.end;
  }
  return ranges;
}

const isBase64 = (code: number): boolean =>
  (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2b || code === 0x2f || code === 0x3d || code === 0x2d || code === 0x5f;

/** The length of the line break at `at` (\n, \r\n, or JSON-escaped as "\\n", "\\r\\n"); 0 if none is there. */
function lineBreakAt(text: string, at: number): number {
  const code = text.charCodeAt(at);
  if (code === 0x0a) return 1;
  if (code === 0x0d) return text.charCodeAt(at + 1) === 0x0a ? 2 : 0;
  if (code !== 0x5c) return 0;
  if (text.startsWith('n', at + 1)) return 2;
  return text.startsWith('r\\n', at + 1) ? 4 : 0;
}

/** The block of base64 runs joined by single line breaks that starts at `at`: where it ends, and its characters without the line breaks, written into `compact`. */
function wrappedBlockAt(text: string, at: number, compact: Buffer): { end: number; length: number; lineBreaks: number } {
  let end = at;
  let length = 0;
  let lineBreaks = 0;
  for (;;) {
    for (let code = text.charCodeAt(end); isBase64(code); code = text.charCodeAt(++end)) compact[length++] = code;
    const lineBreak = lineBreakAt(text, end);
    if (lineBreak === 0 || !isBase64(text.charCodeAt(end + lineBreak))) return { end, length, lineBreaks };
    end += lineBreak;
    lineBreaks++;
  }
}

/** Where the characters at the given (ascending) positions of a block without its line breaks are in the text. */
function inTextPositions(text: string, blockStart: number, positions: readonly number[]): number[] {
  const found: number[] = [];
  for (let at = blockStart, position = 0; found.length < positions.length; at++) {
    if (!isBase64(text.charCodeAt(at))) {
      at += lineBreakAt(text, at) - 1;
      continue;
    }
    while (positions[found.length] === position) found.push(at);
    position++;
  }
  return found;
}

/** `text` (bytes as latin1) with every pattern replaced, overlapping matches merged into one mask. */
function scrubLatin1(text: string, patterns: ScrubPatterns): { text: string; found: boolean } {
  const ranges = rangesIn(text, patterns);
  return ranges.length === 0 ? { text, found: false } : { text: rendered(text, ranges), found: true };
}

const rangesIn = (text: string, patterns: ScrubPatterns): Range[] => merge([...rangesOf(text, patterns.plain), ...wrappedBase64Ranges(text, patterns.base64)]);

function rendered(text: string, ranges: readonly Range[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const [start, stop] of ranges) {
    parts.push(text.slice(at, start), SCRUBBED);
    at = stop;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

export function scrubBytes(body: Buffer, patterns: ScrubPatterns): { body: Buffer; found: boolean } {
  if (patterns.plain.length === 0 || body.length === 0) return { body, found: false };
  const result = scrubLatin1(body.toString('latin1'), patterns);
  return result.found ? { body: Buffer.from(result.text, 'latin1'), found: true } : { body, found: false };
}

/**
 * Header values as Node gives them (each byte one latin1 character), scrubbed the same way. A header
 * whose name holds a value (an upstream that turned a request header's value into a name) is dropped,
 * not renamed: a scrubbed name means nothing to the function, and two could become the same name.
 * Names are compared ignoring case, as Node has lower-cased them.
 */
export function scrubHeaders(headers: Record<string, string | string[]>, patterns: ScrubPatterns): { headers: Record<string, string | string[]>; found: boolean } {
  let found = false;
  const one = (value: string): string => {
    const result = scrubLatin1(value, patterns);
    found ||= result.found;
    return result.text;
  };
  const lowerCase = ignoringCase(patterns);
  const scrubbed: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (scrubLatin1(name.toLowerCase(), lowerCase).found) found = true;
    else scrubbed[name] = Array.isArray(value) ? value.map(one) : one(value);
  }
  return { headers: scrubbed, found };
}

/** `text` scrubbed ignoring case: for what is lower-cased on the way (a URL's host, a message naming it). */
export function scrubIgnoringCase(text: string, patterns: ScrubPatterns): string {
  const lower = text.toLowerCase();
  const ranges = rangesIn(lower, ignoringCase(patterns));
  if (ranges.length === 0) return text;
  // Lower-casing keeps positions unless a character became two (outside Latin-1): then the lower-cased text is the one masked.
  return rendered(lower.length === text.length ? text : lower, ranges);
}

const ignoringCase = (patterns: ScrubPatterns): ScrubPatterns => ({
  plain: longestFirst(patterns.plain.map(({ form }) => form.toLowerCase())),
  base64: longestFirst(patterns.base64.map(({ form }) => form.toLowerCase())),
});
