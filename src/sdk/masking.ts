/**
 * Log masking (SPEC S12): every value a function has read is replaced by `***` in the text it emits,
 * also in the encodings a value commonly travels in (JSON escaping, URL encoding, base64 standard and
 * URL-safe, at any byte offset, as inside a Basic auth header).
 *
 * Short values: a value shorter than MIN_MASKED_LENGTH characters is not masked, because masking every
 * "eu" or "443" in a log would destroy the log while protecting nothing (such a value has no secrecy to
 * lose). Longer values are masked wherever they occur, even inside words: over-masking is the safe side.
 *
 * Pure: no I/O, so the rule can be tested on its own and reused by every output path.
 */
export const MASK = '***';
export const MIN_MASKED_LENGTH = 4;

/** Each of a value's forms that can stand for it in text, longest first. */
export const maskedForms = (value: string): string[] => formsOf(value, encodingsOf);

/** The base64 ones among them (which the broker also finds across line breaks). */
export const base64MaskedForms = (value: string): string[] => formsOf(value, (text) => base64Forms(Buffer.from(text, 'utf8')));

/** The encodings of the value, trimmed and of each of its JSON leaves, long enough to mask, longest first. */
function formsOf(value: string, encodings: (text: string) => string[]): string[] {
  const forms = new Set<string>();
  for (const text of new Set([value, value.trim(), ...jsonLeaves(value)])) {
    if (text.length < MIN_MASKED_LENGTH) continue;
    for (const form of encodings(text)) if (form.length >= MIN_MASKED_LENGTH) forms.add(form);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function encodingsOf(text: string): string[] {
  const json = jsonEscaped(text);
  const urlForms = [encodeURIComponent(text), new URLSearchParams({ v: text }).toString().slice(2), strictUrlEncoded(text), encodeURI(text)];
  return [
    text,
    json,
    // Escaped twice (JSON text inside a JSON string), also after ASCII-only escaping the first time.
    jsonEscaped(json),
    jsonEscaped(asciiJsonEscaped(text)),
    ...JSON_STYLES.flatMap((style) => [styledJsonEscaped(text, style, false), styledJsonEscaped(text, style, true)]),
    ...urlForms,
    ...urlForms.map((form) => form.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())),
    ...base64Forms(Buffer.from(text, 'utf8')),
  ];
}

/** The inside of a JSON string literal, as JSON.stringify writes it. */
const jsonEscaped = (text: string): string => JSON.stringify(text).slice(1, -1);

interface JsonStyle {
  /** What the serializer writes as \uXXXX, matched in JSON.stringify's output (where a quote is `\"`). */
  hex: RegExp;
  /** Whether it writes "/" as "\/". */
  slash: boolean;
}

/**
 * How other JSON serializers escape a string. A value is masked in each style with every character of
 * the style's set escaped, in lower- and in upper-case hex: one form per style and case, never every
 * mix of escaped and raw characters.
 */
const JSON_STYLES: readonly JsonStyle[] = [
  // Python's json.dumps, Jackson's ESCAPE_NON_ASCII, Json.NET's EscapeNonAscii: every non-ASCII character.
  { hex: /[\u007f-\uffff]/g, slash: false },
  // Go's encoding/json, Rails: the HTML-sensitive <>& and the JavaScript line separators.
  { hex: /[<>&\u2028\u2029]/g, slash: false },
  // Gson: also = and '.
  { hex: /[<>&'=\u2028\u2029]/g, slash: false },
  // .NET's System.Text.Json: <>&'+` and the quote, and every non-ASCII character.
  { hex: /\\"|[<>&'+`\u007f-\uffff]/g, slash: false },
  // PHP's json_encode: "/" as "\/", and every non-ASCII character (unless JSON_UNESCAPED_UNICODE).
  { hex: /[\u007f-\uffff]/g, slash: true },
  { hex: /(?!)/g, slash: true },
];

function styledJsonEscaped(text: string, { hex, slash }: JsonStyle, upper: boolean): string {
  const escaped = jsonEscaped(text).replace(hex, (char) => {
    const digits = (char === '\\"' ? 0x22 : char.charCodeAt(0)).toString(16).padStart(4, '0');
    return `\\u${upper ? digits.toUpperCase() : digits}`;
  });
  return slash ? escaped.replaceAll('/', '\\/') : escaped;
}

/** JSON escaping with every non-ASCII character as \uXXXX (Python's json.dumps default). */
const asciiJsonEscaped = (text: string): string => styledJsonEscaped(text, JSON_STYLES[0]!, false);

/** RFC 3986 encoding, which also escapes !'()* (Python's quote, many HTTP clients). */
const strictUrlEncoded = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Base64 of the value on its own, and the part of its encoding that does not depend on the bytes
 * around it when it sits at each of the three offsets modulo 3 inside a longer encoded text
 * (`base64("client_id:" + secret)`): only whole 6-bit groups made of the value's own bits.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (const encoding of ['base64', 'base64url'] as const) {
    forms.push(bytes.toString(encoding), bytes.toString(encoding).replace(/=+$/, ''));
    for (let offset = 0; offset < 3; offset++) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding).replace(/=+$/, '');
      const first = Math.ceil((offset * 8) / 6);
      const end = Math.floor(((offset + bytes.length) * 8) / 6);
      if (end > first) forms.push(encoded.slice(first, end));
    }
  }
  return forms;
}

/**
 * A value that is itself JSON text (`{"api_key": "sk_live_…"}`) is masked as a whole and also leaf by
 * leaf, so that a function which parses it and logs one field still prints `***`.
 */
function jsonLeaves(value: string): string[] {
  const trimmed = value.trim();
  if (!/^[[{"]/.test(trimmed)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const leaves: string[] = [];
  const visit = (node: unknown): void => {
    if (typeof node === 'string') leaves.push(node);
    else if (typeof node === 'number' && Number.isFinite(node)) leaves.push(String(node));
    else if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) Object.values(node).forEach(visit);
  };
  visit(parsed);
  return leaves;
}

export type Range = [start: number, end: number];

/** A form to look for, with its smallest period: how far apart two occurrences of it can start. */
export interface Needle {
  form: string;
  period: number;
}

export const needlesOf = (forms: readonly string[]): Needle[] => forms.map((form) => ({ form, period: smallestPeriod(form) }));

/** The smallest p such that form[i] === form[i + p] throughout (form.length when none is smaller), by KMP's border table. */
function smallestPeriod(form: string): number {
  const border: number[] = [0];
  for (let i = 1, k = 0; i < form.length; i++) {
    while (k > 0 && form[i] !== form[k]) k = border[k - 1]!;
    if (form[i] === form[k]) k++;
    border.push(k);
  }
  return form.length - (border[form.length - 1] ?? 0);
}

/**
 * Where the needles occur in `text`, merged where they overlap or touch, in order; shared by log
 * masking and the broker's scrubber. Linear in the text for each needle, however the text repeats:
 * overlapping occurrences can only start a period apart, so a run of them ("aaaa" all through
 * "aaaa…a") is taken in one walk along the text, never one occurrence (and one stored range) at a
 * time; ranges are merged as they are found, so one range is kept per separate mask.
 */
export function rangesOf(text: string, needles: readonly Needle[]): Range[] {
  const ranges: Range[] = [];
  // A loop, not push(...): a text can hold more separate masks than a call can take arguments.
  for (const needle of needles) for (const range of occurrencesOf(text, needle)) ranges.push(range);
  return merge(ranges);
}

function occurrencesOf(text: string, { form, period }: Needle): Range[] {
  const ranges: Range[] = [];
  for (let at = text.indexOf(form); at !== -1; ) {
    // While the text keeps repeating the period, the form occurs again at each multiple of it.
    let run = at + form.length;
    while (run < text.length && text.charCodeAt(run) === text.charCodeAt(run - period)) run++;
    const end = at + form.length + Math.floor((run - at - form.length) / period) * period;
    const last = ranges[ranges.length - 1];
    if (last && at <= last[1]) last[1] = end;
    else ranges.push([at, end]);
    // Any other occurrence inside the run would give the form a smaller period: the next one starts
    // after the last occurrence just taken.
    at = text.indexOf(form, end - form.length + 1);
  }
  return ranges;
}

/** The values read so far, and the masking of text by them. */
export class Masker {
  private readonly known = new Set<string>();
  private forms: string[] = [];
  private needles: Needle[] = [];

  /** Remembers a value (a string, or each value of a key/value secret) so that it is masked from now on. */
  remember(value: string | Readonly<Record<string, string>>): void {
    const values = typeof value === 'string' ? [value] : Object.values(value);
    let changed = false;
    for (const one of values) {
      if (typeof one !== 'string' || this.known.has(one)) continue;
      this.known.add(one);
      changed = true;
    }
    if (!changed) return;
    this.forms = [...new Set([...this.known].flatMap(maskedForms))].sort((a, b) => b.length - a.length);
    this.needles = needlesOf(this.forms);
  }

  /** Every form being masked, longest first. */
  get maskedForms(): readonly string[] {
    return this.forms;
  }

  mask(text: string): string {
    return render(text, this.rangesIn(text));
  }

  /** Where known forms occur in `text`, merged where they overlap or touch, in order. */
  rangesIn(text: string): Range[] {
    return rangesOf(text, this.needles);
  }

  /** The earliest position from which the end of `text` could be the beginning of a known form. */
  partialMatchStart(text: string): number {
    let earliest = text.length;
    for (const form of this.forms) {
      const first = form[0] ?? '';
      for (let at = text.indexOf(first, Math.max(0, text.length - form.length + 1)); at !== -1 && at < earliest; at = text.indexOf(first, at + 1)) {
        if (form.startsWith(text.slice(at))) {
          earliest = at;
          break;
        }
      }
    }
    return earliest;
  }
}

/** The ranges in order, those that overlap or touch made one. */
export function merge(ranges: Range[]): Range[] {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

function render(text: string, ranges: readonly Range[], skipLeadingMask = false): string {
  let out = '';
  let at = 0;
  for (const [start, end] of ranges) {
    out += text.slice(at, start);
    if (!(skipLeadingMask && start === 0)) out += MASK;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * Masking of a stream that arrives in chunks (a child process's output): a value split across two
 * chunks must still be masked. The end of each chunk that could begin a known form is held back until
 * the next chunk shows whether it does; everything else is passed on at once.
 */
export class StreamMasker {
  private held = '';
  /** How many leading characters of `held` belong to a mask already passed on. */
  private heldMasked = 0;

  constructor(private readonly masker: Masker) {}

  push(chunk: string): string {
    const text = this.held + chunk;
    const ranges = this.masker.rangesIn(text);
    const continuing = this.heldMasked > 0;
    const all = continuing ? merge([[0, this.heldMasked], ...ranges]) : ranges;
    const cut = this.masker.partialMatchStart(text);
    // A match crossing the cut is masked up to it now; its held rest stays masked on the next push
    // (it may also begin a longer value that only the next chunk completes).
    let heldMasked = 0;
    for (const [start, end] of all) if (start < cut && end > cut) heldMasked = end - cut;
    const emitted = render(text.slice(0, cut), all.filter(([start]) => start < cut).map(([start, end]): Range => [start, Math.min(end, cut)]), continuing);
    this.held = text.slice(cut);
    this.heldMasked = heldMasked;
    return emitted;
  }

  /** What is still held when the stream ends; a held beginning of a value is masked too. */
  end(): string {
    const text = this.held;
    const continuing = this.heldMasked > 0;
    const ranges: Range[] = continuing ? [[0, this.heldMasked], ...this.masker.rangesIn(text)] : this.masker.rangesIn(text);
    this.held = '';
    this.heldMasked = 0;
    if (text.length === 0) return '';
    const tail = this.masker.partialMatchStart(text);
    if (tail < text.length && text.length - tail >= MIN_MASKED_LENGTH) ranges.push([tail, text.length]);
    return render(text, merge(ranges), continuing);
  }
}
