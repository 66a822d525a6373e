import { z } from 'zod';
import { invalidInput } from './errors.js';
import { findPlaceholders, mentionsPlaceholder, type Placeholder } from './placeholders.js';

/**
 * A brokered request as a function sends it (SPEC S26), checked and taken apart: where each
 * placeholder is, before any secret is looked at. Pure.
 */

export const BROKER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const MAX_BROKER_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_BROKER_TIMEOUT_MS = 30_000;
export const MAX_DISTINCT_PLACEHOLDERS = 20;
/** Placeholders (repeats counted) one brokered request may hold: each is filled and scanned for. */
export const MAX_PLACEHOLDERS = 1000;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
// Header values as HTTP (RFC 9110 field-value) and Node's client allow them: tab, visible ASCII,
// space and obs-text bytes; no line break or NUL, which would smuggle another header, no other control.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const brokeredRequestSchema = z.strictObject(
  {
    method: z
      .string({ error: `must be one of ${BROKER_METHODS.join(', ')}` })
      .transform((method) => method.toUpperCase())
      .pipe(z.enum(BROKER_METHODS, { error: `must be one of ${BROKER_METHODS.join(', ')}` })),
    url: z.string({ error: 'must be an https: URL' }).min(1, { error: 'must be an https: URL' }).max(16_384, { error: 'must be at most 16384 characters' }),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, { error: 'header names must be HTTP tokens (letters, digits and !#$%&\'*+.^_`|~-)' }),
        z.string({ error: 'header values must be strings' }).max(16_384, { error: 'must be at most 16384 characters' }).regex(HEADER_VALUE, { error: 'must hold only tabs, printable characters and Latin-1 letters: no line breaks or other control characters' }),
        { error: 'must be an object of header names to string values' },
      )
      .refine((headers) => Object.keys(headers).length <= 100, { error: 'must hold at most 100 headers' })
      .optional(),
    body: z.string({ error: 'must be a string (base64 with "bodyEncoding": "base64")' }).optional(),
    bodyEncoding: z.enum(['utf8', 'base64'], { error: 'must be "utf8" or "base64"' }).optional(),
    timeoutMs: z
      .number({ error: `must be a whole number of milliseconds from 1 to ${MAX_BROKER_TIMEOUT_MS}` })
      .int({ error: `must be a whole number of milliseconds from 1 to ${MAX_BROKER_TIMEOUT_MS}` })
      .min(1, { error: `must be from 1 to ${MAX_BROKER_TIMEOUT_MS}` })
      .max(MAX_BROKER_TIMEOUT_MS, { error: `must be at most ${MAX_BROKER_TIMEOUT_MS} (30 s)` })
      .optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export type BrokeredRequestInput = z.output<typeof brokeredRequestSchema>;

/** Where a placeholder was found: the field an error names. */
export interface PlacedPlaceholder extends Placeholder {
  field: string;
}

export interface ParsedBrokeredRequest {
  method: string;
  /** The URL as parsed, with its fragment removed (a fragment is never sent). */
  url: URL;
  headers: Array<[string, string]>;
  /** null: no body. Text bodies keep their placeholders; a base64 body is sent as it is. */
  body: { text: string } | { bytes: Buffer } | null;
  timeoutMs: number;
  placeholders: PlacedPlaceholder[];
}

export const DEFAULT_BROKER_TIMEOUT_MS = MAX_BROKER_TIMEOUT_MS;

/**
 * Adds the placeholders of `text` to `placeholders`, one by one (a spread of hundreds of thousands
 * would overflow the call stack), refusing more than MAX_PLACEHOLDERS in all, naming the field.
 */
function addPlaceholdersIn(placeholders: PlacedPlaceholder[], text: string, field: string): void {
  const found = findPlaceholders(text);
  if (typeof found === 'string') throw invalidInput(field, `${field} ${found}`);
  if (placeholders.length + found.length > MAX_PLACEHOLDERS) {
    throw invalidInput(field, `${field}: a brokered request may hold at most ${MAX_PLACEHOLDERS} placeholders (repeats counted)`);
  }
  for (const placeholder of found) placeholders.push({ ...placeholder, field });
}

/** Checks the request's shape and finds its placeholders; 400 naming the field for anything wrong. */
export function parseBrokeredRequest(input: BrokeredRequestInput): ParsedBrokeredRequest {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw invalidInput('url', 'url must be an absolute https: URL, e.g. https://api.stripe.com/v1/charges');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidInput('url', 'url must be an https: URL');
  if (url.username !== '' || url.password !== '') {
    throw invalidInput('url', 'url must not hold a user name or password: put credentials in a header, e.g. "authorization": "Bearer {{secret:NAME}}"');
  }
  // Placeholders are filled only in the query, header values and body (SPEC S26): a secret in a host
  // or path would choose where it is sent, and paths end up in every access log on the way.
  for (const [part, text] of [['host', url.host], ['path', url.pathname], ['fragment', url.hash]] as const) {
    if (mentionsPlaceholder(text)) throw invalidInput('url', `url has a placeholder in its ${part}: placeholders are filled only in the query, header values and body`);
  }
  url.hash = '';
  const placeholders: PlacedPlaceholder[] = [];
  addPlaceholdersIn(placeholders, url.search, 'url');
  const headers = Object.entries(input.headers ?? {});
  for (const [name, value] of headers) {
    if (mentionsPlaceholder(name)) throw invalidInput(`headers.${name}`, 'header names cannot hold placeholders; put them in the value');
    addPlaceholdersIn(placeholders, value, `headers.${name}`);
  }
  let body: ParsedBrokeredRequest['body'] = null;
  if (input.body !== undefined) {
    if (input.bodyEncoding === 'base64') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(input.body) || input.body.length % 4 !== 0) throw invalidInput('body', 'body must be base64 when "bodyEncoding" is "base64"');
      body = { bytes: Buffer.from(input.body, 'base64') };
    } else {
      addPlaceholdersIn(placeholders, input.body, 'body');
      body = { text: input.body };
    }
    const size = 'text' in body ? Buffer.byteLength(body.text, 'utf8') : body.bytes.length;
    if (size > MAX_BROKER_BODY_BYTES) throw invalidInput('body', `body must be at most ${MAX_BROKER_BODY_BYTES} bytes (10 MiB)`);
  }
  const distinct = new Set<string>();
  for (const placeholder of placeholders) {
    distinct.add(placeholder.text);
    // Each names a secret to look up: a body of thousands of names must not become thousands of queries.
    if (distinct.size > MAX_DISTINCT_PLACEHOLDERS) {
      throw invalidInput(placeholder.field, `a brokered request may use at most ${MAX_DISTINCT_PLACEHOLDERS} different placeholders`);
    }
  }
  if (placeholders.length === 0) {
    // Without a secret no allowed host applies: the vault would be an open proxy to anywhere.
    throw invalidInput('url', 'a brokered request must use at least one secret, e.g. "authorization": "Bearer {{secret:NAME}}"; send requests without secrets yourself');
  }
  return { method: input.method, url, headers, body, timeoutMs: input.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS, placeholders };
}

/** Whether a filled header value can be sent as it is. */
export const isSendableHeaderValue = (value: string): boolean => HEADER_VALUE.test(value);
