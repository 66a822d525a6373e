import { SecretsError, UpstreamUnreachable } from './errors.js';
import type { BrokeredAnswer, BrokeredRequest, RuntimeClient } from './runtimeClient.js';

/**
 * `conv.http` (SPEC S28): HTTP requests that use secrets without holding them. The URL's query, the
 * header values and a text body may hold `{{secret:NAME}}` or `{{secret:NAME.KEY}}`; the vault fills
 * them in, sends the request to the secrets' allowed hosts only, and answers with every used value
 * replaced by `***`. The function never sees a value, so it cannot log, leak or return one.
 */

export interface BrokeredInit {
  method?: string;
  headers?: HeadersInit;
  /** Text (placeholders are filled in it), URLSearchParams, or bytes (sent as they are). */
  body?: string | URLSearchParams | ArrayBuffer | ArrayBufferView | null;
  /** How long the vault waits for the upstream, at most 30000 (the default). */
  timeoutMs?: number;
}

export interface ConvHttp {
  /**
   * A brokered request, answered as a standard Response (a redirect is answered, never followed).
   * @throws HostNotAllowed, UpstreamUnreachable, UpstreamTimeout, SecretNotFound, MissingAccess, VaultUnreachable, SecretsError
   */
  fetch(url: string | URL, init?: BrokeredInit): Promise<Response>;
}

// Statuses whose Response may not carry a body.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function requestOf(url: string | URL, init: BrokeredInit): BrokeredRequest {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new SecretsError('conv.http.fetch needs a URL, e.g. conv.http.fetch("https://api.stripe.com/v1/charges", { ... }).', { code: 'invalid_input', status: 0 });
  }
  const headers: Record<string, string> = {};
  new Headers(init.headers ?? {}).forEach((value, name) => (headers[name] = value));
  const request: BrokeredRequest = { method: (init.method ?? 'GET').toUpperCase(), url: String(url), headers };
  const body = init.body;
  if (typeof body === 'string') request.body = body;
  else if (body instanceof URLSearchParams) {
    // URLSearchParams would escape the braces of a placeholder: keep them as they were written.
    request.body = body.toString().replace(/%7B%7Bsecret%3A([^%]*?)%7D%7D/gi, (_whole, inner: string) => `{{secret:${decodeURIComponent(inner)}}}`);
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes = body instanceof ArrayBuffer ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    request.body = bytes.toString('base64');
    request.bodyEncoding = 'base64';
  } else if (body !== undefined && body !== null) {
    throw new SecretsError('conv.http.fetch takes a body as a string, URLSearchParams or bytes.', { code: 'invalid_input', status: 0 });
  }
  if (init.timeoutMs !== undefined) request.timeoutMs = init.timeoutMs;
  return request;
}

/** The vault's answer as the standard Response a fetch would give. */
export function responseOf(answer: BrokeredAnswer): Response {
  // HTTP allows 600–999 on the wire; a Response holds 200–599 only (the vault never answers 1xx).
  if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
    throw new UpstreamUnreachable(`The upstream answered with status ${String(answer.status).slice(0, 5)}, which is not an HTTP answer a Response can hold.`, { status: 502 });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, one);
      } catch {
        // A header the Fetch standard forbids in a Response: left out, as a browser would.
      }
    }
  }
  const body = NULL_BODY.has(answer.status) ? null : answer.bodyEncoding === 'base64' ? Buffer.from(answer.body, 'base64') : answer.body;
  return new Response(body, { status: answer.status, headers });
}

export function convHttp(client: Pick<RuntimeClient, 'sendRequest'>): ConvHttp {
  return Object.freeze({
    async fetch(url: string | URL, init: BrokeredInit = {}) {
      return responseOf(await client.sendRequest(requestOf(url, init)));
    },
  });
}
