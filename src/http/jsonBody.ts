import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VaultError, invalidInput } from '../domain/errors.js';
import { RESERVED_KEY_RULE } from '../domain/names.js';
import { findKeyProblem, type KeyProblem } from './jsonKeys.js';

/**
 * The one way a request body becomes a value: JSON in UTF-8, taken exactly as sent or refused.
 *
 * Fastify's own parser decodes bytes leniently, so invalid UTF-8 would be stored as U+FFFD, and
 * JSON.parse lets `"\ud800"` through as a lone surrogate, which PostgreSQL then stores as U+FFFD
 * while the answer echoes the original: what is stored would silently differ from what was sent.
 * Refusing such bodies keeps the request, the answer and the store in agreement on both databases.
 */

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF8_CHARSETS = new Set(['utf-8', 'utf8']);
// A JSON text decoded as strict UTF-8 can only hold a surrogate code unit through a \uD800–\uDFFF
// escape, so a text without one needs no walk (the common case).
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
// In a `u` pattern a well-formed pair is one code point; only a lone surrogate is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/** The charset parameter of a content type, lowercased; undefined when there is none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  if (match === null) return undefined;
  return (match[1] ?? match[2] ?? '').toLowerCase();
}

/** Whether any string or key of a parsed JSON value holds a lone surrogate. Iterative: bodies nest deep. */
export function hasLoneSurrogate(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (LONE_SURROGATE.test(item)) return true;
    } else if (Array.isArray(item)) {
      for (const element of item) pending.push(element);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(element);
      }
    }
  }
  return false;
}

const notUtf8 = () => new VaultError('invalid_input', 'The body must be UTF-8 text: it holds bytes that are not valid UTF-8.', 'body');
const loneSurrogate = () =>
  new VaultError('invalid_input', 'The body must be Unicode text: it holds a lone surrogate (a \\ud800-\\udfff escape without its pair).', 'body');
/** The field a key's path names, as schema refusals name theirs (src/http/errors.ts): `value.client_id`. */
const fieldAt = (path: KeyProblem['path']): string => path.join('.');
/**
 * A repeated key is refused, never resolved: JSON leaves its meaning open, and taking the last one
 * (as JSON.parse does) would act on a part of the body that a reader, a proxy or a log may not see.
 * "__proto__" in any object, and "prototype" in an object under "constructor", are refused as
 * Fastify's parser (secure-json-parse) refused them, but naming where they are: its refusal said "not
 * valid JSON" and named no field. A "constructor" key of a key/value value is refused by S1's rule
 * (domain/secrets.ts), which the schema names as `value.constructor`.
 */
const isPoisoning = (key: string, under: string | number | undefined): boolean => key === '__proto__' || (key === 'prototype' && under === 'constructor');
const keyRefusal = (problem: KeyProblem): VaultError => {
  const field = fieldAt(problem.path);
  if (problem.problem === 'reserved') return invalidInput(field, `${field}: ${RESERVED_KEY_RULE}`);
  return invalidInput(field, `${field}: is given more than once in its object; a JSON body names each key once (escapes count: "a" and "\\u0061" are one key)`);
};
const notJson = () => new VaultError('invalid_input', 'The body must be valid JSON.', 'body');
const wrongCharset = () =>
  new VaultError('unsupported_media_type', 'Send the body as JSON in UTF-8: "content-type: application/json" with no charset, or charset=utf-8.', 'body');

/**
 * Replaces Fastify's application/json parser (same body limit, same prototype-poisoning refusals, now
 * naming the key: see keyRefusal) and removes its text/plain one: the API takes JSON only, anything
 * else is 415. An empty body is no body, as many HTTP clients send "content-type: application/json" without one; a route whose
 * body is required then refuses it by its schema, naming the field.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && !UTF8_CHARSETS.has(charset)) return done(wrongCharset(), undefined);
    if (body.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = STRICT_UTF8.decode(body);
    } catch {
      return done(notUtf8(), undefined);
    }
    let value: unknown;
    try {
      // Plain JSON.parse makes every key an own property (no prototype is set); the scan below then
      // refuses a body holding "__proto__" (or constructor.prototype) before anything else sees it.
      value = JSON.parse(text);
    } catch {
      return done(notJson(), undefined);
    }
    const problem = findKeyProblem(text, isPoisoning);
    if (problem !== undefined) return done(keyRefusal(problem), undefined);
    if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value)) return done(loneSurrogate(), undefined);
    return done(null, value);
  });
}
