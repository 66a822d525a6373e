import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { judgeAddress } from './addresses.js';

/**
 * Sends one outbound HTTP request the way a careful egress proxy does (SPEC S26), knowing nothing of
 * secrets: resolve the host once, judge every address it resolves to, connect to the very address
 * that was judged (no second lookup, so no DNS rebinding window), HTTPS with certificate checks
 * (plain HTTP only to a private address the operator allowed), no redirects followed, time and size
 * bounded, hop-by-hop headers removed both ways and Host set from the URL.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to; injected by tests (a resolver that changes its answer). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

/**
 * How refusals name the requests and the operator's flags: brokered requests and the sign-in's calls
 * to an identity provider go out through egresses of their own, each allowed by its own serve flags.
 */
export interface EgressWording {
  /** "brokered requests" */
  requests: string;
  /** The serve flag that allows private addresses. */
  allowPrivateFlag: string;
  /** The serve flag that adds CA certificates, if there is one; else the system's trust store (and NODE_EXTRA_CA_CERTS). */
  caFlag?: string;
}

export const BROKER_WORDING: EgressWording = { requests: 'brokered requests', allowPrivateFlag: '--broker-allow-private', caFlag: '--broker-ca-file' };

export interface EgressOptions {
  /** `serve --broker-allow-private`: private and loopback addresses, and plain http: to them. */
  allowPrivate: boolean;
  /** How refusals name these requests and flags; brokered requests' wording unless told. */
  wording?: EgressWording | undefined;
  /** PEM text of CA certificates trusted beside the system's (`serve --broker-ca-file`). */
  extraCa?: string | undefined;
  resolve?: Resolver | undefined;
  /** Bytes of the answer's body at most (after decompression). */
  maxAnswerBytes: number;
  /** Outbound requests in flight at most, for the whole process. */
  maxInFlight: number;
}

export interface OutboundRequest {
  url: URL;
  method: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | undefined;
  timeoutMs: number;
}

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The address connected to. */
  address: string;
}

export type EgressFailure = 'private_address' | 'plain_http' | 'unresolvable' | 'unreachable' | 'certificate' | 'timeout' | 'too_large' | 'encoding' | 'busy';

/** Why a request was not sent or got no usable answer; the message never holds the request's contents. */
export class EgressError extends Error {
  constructor(
    readonly reason: EgressFailure,
    message: string,
  ) {
    super(message);
    this.name = 'EgressError';
  }
}

/** RFC 9110 7.6.1 hop-by-hop fields, the proxy ones, and what the sender sets itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect', 'http2-settings']);
const isHopByHop = (name: string, named: ReadonlySet<string>): boolean => HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named.has(name);

/** The header names a Connection header lists are hop-by-hop too. */
const namedByConnection = (values: ReadonlyArray<string | undefined>): Set<string> =>
  new Set(values.flatMap((value) => (value ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean)));

export function createEgress(options: EgressOptions) {
  const resolve = options.resolve ?? systemResolver;
  const wording = options.wording ?? BROKER_WORDING;
  const Requests = wording.requests.charAt(0).toUpperCase() + wording.requests.slice(1);
  // Kept-alive connections: the broker adds as little as it can to each request. Pooled per address,
  // port and SNI name, which is exactly what was checked.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxTotalSockets: options.maxInFlight }),
    'https:': new https.Agent({
      keepAlive: true,
      maxTotalSockets: options.maxInFlight,
      ...(options.extraCa ? { ca: [...rootCertificates, options.extraCa] } : {}),
    }),
  };
  let inFlight = 0;

  /** The one address to connect to, judged; throws when none may be used. */
  async function checkedAddress(url: URL, hostname: string, deadline: number): Promise<ResolvedAddress> {
    const literal = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    let addresses: ResolvedAddress[];
    if (isIP(literal) !== 0) {
      addresses = [{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await withDeadline(resolve(hostname), deadline);
      } catch (error) {
        if (error instanceof EgressError) throw error;
        throw new EgressError('unresolvable', `The host "${hostname}" does not resolve (${(error as { code?: string }).code ?? 'lookup failed'}).`);
      }
      if (addresses.length === 0) throw new EgressError('unresolvable', `The host "${hostname}" does not resolve.`);
    }
    // Every address is judged: a name that also points inside is refused, whichever address comes first.
    for (const { address } of addresses) {
      const verdict = judgeAddress(address);
      if (verdict === 'refused' || (verdict === 'private' && !options.allowPrivate)) {
        throw new EgressError(
          'private_address',
          verdict === 'refused'
            ? `The host "${hostname}" resolves to ${address}, a reserved or metadata address, which ${wording.requests} may never reach.`
            : `The host "${hostname}" resolves to ${address}, a private, loopback or link-local address, which ${wording.requests} reach only when the service runs with ${wording.allowPrivateFlag}.`,
        );
      }
    }
    const chosen = addresses[0]!;
    if (url.protocol === 'http:' && judgeAddress(chosen.address) !== 'private') {
      throw new EgressError('plain_http', `${Requests} use https: plain http: is allowed only to private addresses, with serve ${wording.allowPrivateFlag}.`);
    }
    return chosen;
  }

  /** The scheme checked, the host name without its trailing dot, and the one address to connect to. */
  async function destination(url: URL, deadline: number): Promise<{ hostname: string; target: ResolvedAddress }> {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowPrivate)) {
      throw new EgressError('plain_http', `${Requests} use https: (plain http: only to private addresses, with serve ${wording.allowPrivateFlag}).`);
    }
    const hostname = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
    return { hostname, target: await checkedAddress(url, hostname, deadline) };
  }

  async function send(request: OutboundRequest): Promise<UpstreamAnswer> {
    if (inFlight >= options.maxInFlight) throw new EgressError('busy', `The vault is already sending ${options.maxInFlight} ${wording.requests}; try again shortly.`);
    inFlight++;
    try {
      const deadline = Date.now() + request.timeoutMs;
      const { hostname, target } = await destination(request.url, deadline);
      return await exchange(request, hostname, target, deadline);
    } finally {
      inFlight--;
    }
  }

  /** Throws the EgressError that send would throw before connecting to `url`; sends nothing. */
  async function check(url: URL, timeoutMs: number): Promise<void> {
    await destination(url, Date.now() + timeoutMs);
  }

  function exchange(request: OutboundRequest, hostname: string, target: ResolvedAddress, deadline: number): Promise<UpstreamAnswer> {
    const { url } = request;
    const named = namedByConnection(request.headers.filter(([name]) => name.toLowerCase() === 'connection').map(([, value]) => value));
    const headers: Record<string, string | string[]> = {};
    for (const [rawName, value] of request.headers) {
      const name = rawName.toLowerCase();
      if (isHopByHop(name, named) || name === 'accept-encoding') continue;
      const existing = headers[name];
      headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    // The Host the URL names (the one that was allowed), never one the caller chose.
    headers.host = url.port === '' ? hostname : `${hostname}:${url.port}`;
    // An encoded answer could hide a value from the scrubber until decoded: ask for none (and decode any).
    headers['accept-encoding'] = 'identity';
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    const tls = url.protocol === 'https:';
    const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);

    return new Promise<UpstreamAnswer>((resolvePromise, reject) => {
      let settled = false;
      const fail = (error: EgressError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outbound.destroy();
        reject(error);
      };
      const outbound = (tls ? https : http).request({
        // The checked address itself: no lookup happens after the check.
        host: target.address,
        family: target.family,
        port,
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers,
        setHost: false,
        agent: agents[tls ? 'https:' : 'http:'],
        // SNI and the certificate check are for the name the URL holds (IP literals: the address).
        ...(tls && isIP(hostname.replace(/^\[|\]$/g, '')) === 0 ? { servername: hostname } : {}),
      });
      const timer = setTimeout(
        () => fail(new EgressError('timeout', `The upstream did not answer within ${request.timeoutMs} ms.`)),
        Math.max(0, deadline - Date.now()),
      );
      outbound.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'error';
        const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || code === 'ERR_SSL_WRONG_VERSION_NUMBER';
        fail(new EgressError(certificate ? 'certificate' : 'unreachable', certificate
          ? `The TLS connection to "${hostname}" failed its checks (${code}); ${wording.caFlag === undefined ? 'an internal CA can be trusted with NODE_EXTRA_CA_CERTS' : `an internal CA can be trusted with serve ${wording.caFlag}`}.`
          : `Cannot reach "${hostname}" (${code}).`));
      });
      outbound.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxAnswerBytes) {
            response.destroy();
            fail(new EgressError('too_large', `The upstream's answer is larger than ${options.maxAnswerBytes} bytes.`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', () => fail(new EgressError('unreachable', `The connection to "${hostname}" broke during the answer.`)));
        response.on('end', () => {
          if (settled) return;
          let body: Buffer;
          try {
            body = decoded(Buffer.concat(chunks), response.headers['content-encoding'], options.maxAnswerBytes);
          } catch (error) {
            fail(error instanceof EgressError ? error : new EgressError('encoding', 'The upstream\'s answer could not be decoded.'));
            return;
          }
          settled = true;
          clearTimeout(timer);
          resolvePromise({ status: response.statusCode ?? 502, headers: answerHeaders(response.headers), body, address: target.address });
        });
      });
      outbound.end(request.body);
    });
  }

  return {
    send,
    check,
    get inFlight() {
      return inFlight;
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

export type Egress = ReturnType<typeof createEgress>;

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new EgressError('timeout', 'The upstream\'s host name did not resolve in time.')), Math.max(0, deadline - Date.now()));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The body without its content coding, so that what is scrubbed is what the caller will read. */
function decoded(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const codings = (encoding ?? '').split(',').map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '' && coding !== 'identity');
  let bytes = body;
  for (const coding of codings.reverse()) {
    const limit = { maxOutputLength: maxBytes };
    try {
      if (coding === 'gzip' || coding === 'x-gzip') bytes = gunzipSync(bytes, limit);
      else if (coding === 'deflate') bytes = inflateSync(bytes, limit);
      else if (coding === 'br') bytes = brotliDecompressSync(bytes, limit);
      else throw new EgressError('encoding', `The upstream answered in the content coding "${coding.slice(0, 40)}", which the vault cannot check for secret values.`);
    } catch (error) {
      if (error instanceof EgressError) throw error;
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new EgressError('too_large', `The upstream's answer is larger than ${maxBytes} bytes once decoded.`);
      throw new EgressError('encoding', 'The upstream\'s answer could not be decoded.');
    }
  }
  return bytes;
}

/** The answer's headers without hop-by-hop ones, and without those that described the bytes before decoding. */
function answerHeaders(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const named = namedByConnection([typeof headers.connection === 'string' ? headers.connection : undefined]);
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isHopByHop(name, named) || name === 'content-encoding') continue;
    kept[name] = value;
  }
  return kept;
}
