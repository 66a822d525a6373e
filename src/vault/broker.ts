import { VaultError, invalidInput } from '../domain/errors.js';
import { isSendableHeaderValue, parseBrokeredRequest, type BrokeredRequestInput, type ParsedBrokeredRequest } from '../domain/brokeredRequest.js';
import { destinationOf, hostsAllow } from '../domain/hosts.js';
import { fillPlaceholders } from '../domain/placeholders.js';
import type { SecretValue } from '../domain/secrets.js';
import { MIN_MASKED_LENGTH } from '../sdk/masking.js';
import { EgressError, type Egress, type EgressFailure } from '../egress/send.js';
import { scrubBytes, scrubHeaders, scrubIgnoringCase, scrubPatterns, type ScrubPatterns } from '../egress/scrub.js';
import type { AuditTrail } from './audit.js';
import type { Resolution, RuntimeService } from './runtime.js';
import { measured, type VaultMetrics } from './metrics.js';

/**
 * Brokered requests (SPEC S26): the vault fills a function's placeholders with the values its agent
 * may read, checks the destination against every used secret's allowed hosts, sends the request
 * through the egress module, scrubs every used value from the answer, and audits one `secret.use`
 * per secret — refusals too. The function never holds a value.
 */

export interface BrokeredAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  bodyEncoding: 'utf8' | 'base64';
}

type Granted = Extract<Resolution, { granted: true }>;

/** A used secret and the value its placeholders stand for. */
interface Use {
  resolution: Granted;
  /** Placeholder text → the string it is filled with. */
  fills: Map<string, string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A broker-only value shorter than the masking floor (MIN_MASKED_LENGTH) would not be scrubbed from
 * the answer, so an upstream echoing it would hand the function a value it must never hold: such a
 * request is refused (400 naming the placeholder's field), nothing sent. A "value" secret is not: the
 * function may read it anyway.
 */
class UnscrubbableValue extends VaultError {
  constructor(field: string, secret: string) {
    super(
      'invalid_input',
      `${field}: the value of secret "${secret}" is shorter than ${MIN_MASKED_LENGTH} characters, too short to be kept out of the answer, ` +
        'and the secret is broker-only: it cannot be brokered. Nothing was sent; an admin can set a longer value, or make the secret readable by value.',
      field,
    );
  }
}

/** Secret lookups one brokered request may cause at most. */
export const MAX_LOOKUPS = 32;

function asUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** What an egress failure is to the function (SPEC S26 errors), without anything of the request. */
function refusalOf(error: EgressError): { code: 'HostNotAllowed' | 'UpstreamUnreachable' | 'UpstreamTimeout' | 'rate_limited'; outcome: 'denied' | 'failed' } {
  const byReason: Record<EgressFailure, ReturnType<typeof refusalOf>> = {
    private_address: { code: 'HostNotAllowed', outcome: 'denied' },
    plain_http: { code: 'HostNotAllowed', outcome: 'denied' },
    busy: { code: 'rate_limited', outcome: 'denied' },
    timeout: { code: 'UpstreamTimeout', outcome: 'failed' },
    unresolvable: { code: 'UpstreamUnreachable', outcome: 'failed' },
    unreachable: { code: 'UpstreamUnreachable', outcome: 'failed' },
    certificate: { code: 'UpstreamUnreachable', outcome: 'failed' },
    too_large: { code: 'UpstreamUnreachable', outcome: 'failed' },
    encoding: { code: 'UpstreamUnreachable', outcome: 'failed' },
  };
  return byReason[error.reason];
}

export function brokerService(deps: { runtime: Pick<RuntimeService, 'resolveForAgent'>; audit: AuditTrail; egress: Egress; metrics: VaultMetrics }) {
  const { runtime, audit, egress } = deps;

  /**
   * Resolves every placeholder: `{{secret:a.b}}` reads as secret "a.b", else key "b" of secret "a"
   * (domain/placeholders.ts); when no reading names a secret, the longest one's SecretNotFound is
   * reported. Each secret a placeholder stands for goes into `named` (for its audit event) before
   * any refusal is thrown, so that every refusal is audited.
   */
  async function resolveUses(agentKey: string, request: ParsedBrokeredRequest, named: Map<string, Resolution>): Promise<Map<string, Use>> {
    const lookedUp = new Map<string, Resolution>();
    const resolve = async (name: string): Promise<Resolution> => {
      let resolution = lookedUp.get(name);
      if (resolution === undefined) {
        // Each lookup is a query: a body of many distinct (or many-dotted) placeholders must not become thousands.
        if (lookedUp.size >= MAX_LOOKUPS) {
          throw invalidInput('body', `a brokered request may name at most ${MAX_LOOKUPS} different secrets (counting each way a dotted placeholder can be read)`);
        }
        resolution = await runtime.resolveForAgent(agentKey, name);
        lookedUp.set(name, resolution);
      }
      return resolution;
    };
    const uses = new Map<string, Use>();
    for (const placeholder of request.placeholders) {
      let chosen: { resolution: Resolution; key: string | undefined } | undefined;
      for (const reading of placeholder.readings) {
        const resolution = await resolve(reading.name);
        if (resolution.granted || resolution.outcome !== 'not_found') {
          chosen = { resolution, key: reading.key };
          break;
        }
      }
      const first = placeholder.readings[0]!;
      chosen ??= { resolution: await resolve(first.name), key: first.key };
      const { resolution, key } = chosen;
      named.set(resolution.secret.name, resolution);
      if (!resolution.granted) throw resolution.error;
      const fill = fillFor(resolution.value, key, resolution.secret.name, placeholder.field);
      if (resolution.delivery === 'broker-only' && fill.length < MIN_MASKED_LENGTH) throw new UnscrubbableValue(placeholder.field, resolution.secret.name);
      const use = uses.get(resolution.secret.name) ?? { resolution, fills: new Map<string, string>() };
      use.fills.set(placeholder.text, fill);
      uses.set(resolution.secret.name, use);
    }
    return uses;
  }

  function fillFor(value: SecretValue, key: string | undefined, secret: string, field: string): string {
    if (typeof value === 'string') {
      if (key !== undefined) throw invalidInput(field, `${field}: secret "${secret}" holds a single value: write {{secret:${secret}}}, without a key`);
      return value;
    }
    if (key === undefined) throw invalidInput(field, `${field}: secret "${secret}" holds keys (${Object.keys(value).join(', ')}): write {{secret:${secret}.KEY}}`);
    const one = value[key];
    if (one === undefined) throw invalidInput(field, `${field}: secret "${secret}" has no key "${key}" (it has ${Object.keys(value).join(', ')})`);
    return one;
  }

  async function sendBrokeredRequest(agentKey: string, input: BrokeredRequestInput): Promise<BrokeredAnswer> {
    const request = parseBrokeredRequest(input);
    const to = destinationOf(request.url);
    const where = { host: to.defaultPort ? to.host : `${to.host}:${to.port}`, method: request.method, path: request.url.pathname };
    const started = performance.now();
    const named = new Map<string, Resolution>();

    /** One event per secret the request named, then the refusal (SPEC S26: refusals audited too). */
    const refuse = async (error: VaultError, outcomeOf: (resolution: Resolution) => { outcome: 'denied' | 'not_found' | 'failed'; reason: string }) => {
      // Also a refusal before every placeholder was filled: each value read so far is kept out.
      scrubWhere(where, scrubPatterns([...named.values()].flatMap((resolution) => (resolution.granted ? valuesOf(resolution.value) : []))));
      const events: Promise<void>[] = [];
      for (const resolution of named.values()) {
        const { outcome, reason } = outcomeOf(resolution);
        const detail = { ...where, environment: resolution.environment, reason, ...(resolution.granted ? {} : resolution.detail), durationMs: Math.round(performance.now() - started) };
        events.push(audit.recordRead(resolution.accountId, { actor: resolution.actor, action: 'secret.use', outcome, secret: resolution.secret, version: resolution.version, agent: resolution.agent, detail }));
      }
      await Promise.all(events);
      throw error;
    };

    let uses: Map<string, Use>;
    try {
      uses = await resolveUses(agentKey, request, named);
    } catch (error) {
      if (!(error instanceof VaultError) || error.code === 'unauthenticated' || named.size === 0) throw error;
      const reasonOf = (resolution: Resolution) =>
        resolution.granted ? { outcome: 'denied' as const, reason: 'request_refused' } : { outcome: resolution.outcome, reason: resolution.error.code };
      const refusal = error;
      const invalid = refusal instanceof UnscrubbableValue ? 'value_too_short' : 'invalid_placeholder';
      return refuse(refusal, (resolution) => (resolution.granted && refusal.code === 'invalid_input' ? { outcome: 'denied', reason: invalid } : reasonOf(resolution)));
    }

    const fills = new Map<string, string>();
    for (const use of uses.values()) for (const [text, value] of use.fills) fills.set(text, value);
    const patterns = scrubPatterns(new Set(fills.values()));
    scrubWhere(where, patterns);

    const disallowing = [...uses.values()].filter((use) => !hostsAllow(use.resolution.allowedHosts, to)).map((use) => use.resolution.secret.name);
    if (disallowing.length > 0) {
      const error = new VaultError(
        'HostNotAllowed',
        `The host "${where.host}" is not among the allowed hosts of secret${disallowing.length > 1 ? 's' : ''} ${disallowing.map((name) => `"${name}"`).join(', ')}; ` +
          "an admin can add it on the secret's page (Allowed hosts). Nothing was sent.",
        'url',
      );
      return refuse(error, (resolution) => ({ outcome: 'denied', reason: disallowing.includes(resolution.secret.name) ? 'host_not_allowed' : 'request_refused' }));
    }

    const filled = fillRequest(request, fills);
    if (filled instanceof VaultError) return refuse(filled, () => ({ outcome: 'denied', reason: 'invalid_placeholder' }));

    let answer;
    try {
      answer = await egress.send({ url: filled.url, method: request.method, headers: filled.headers, body: filled.body, timeoutMs: request.timeoutMs });
    } catch (thrown) {
      // Anything else Node's client threw: its message may quote a header, so none of it is passed on.
      const error = thrown instanceof EgressError ? thrown : new EgressError('unreachable', `The request to "${where.host}" could not be sent.`);
      const { code, outcome } = refusalOf(error);
      // Its message may name the host, which may hold a value (scrubWhere).
      return refuse(new VaultError(code, scrubIgnoringCase(error.message, patterns), code === 'HostNotAllowed' ? 'url' : undefined), () => ({ outcome, reason: error.reason }));
    }

    const body = scrubBytes(answer.body, patterns);
    const headers = scrubHeaders(answer.headers, patterns);
    const text = asUtf8(body.body);

    const durationMs = Math.round(performance.now() - started);
    await Promise.all(
      [...uses.values()].map(({ resolution }) =>
        audit.recordRead(
          resolution.accountId,
          {
            actor: resolution.actor,
            action: 'secret.use',
            outcome: 'success',
            secret: resolution.secret,
            version: resolution.version,
            agent: resolution.agent,
            detail: { ...where, environment: resolution.environment, status: answer.status, durationMs, ...(body.found || headers.found ? { scrubbed: true } : {}) },
          },
          { secretId: resolution.secret.id, agentId: resolution.agent.id, environment: resolution.environment, version: resolution.version },
        ),
      ),
    );
    return text === undefined
      ? { status: answer.status, headers: headers.headers, body: body.body.toString('base64'), bodyEncoding: 'base64' }
      : { status: answer.status, headers: headers.headers, body: text, bodyEncoding: 'utf8' };
  }

  return { sendBrokeredRequest: measured(deps.metrics, deps.metrics.brokeredRequest.bind(deps.metrics), sendBrokeredRequest) };
}

const valuesOf = (value: SecretValue): string[] => (typeof value === 'string' ? [value] : Object.values(value));

/**
 * A function that also read a used value (delivery "value") could write it into the path or the host:
 * the audit trail and error messages never hold a value (SPEC section 5), so both are scrubbed as the
 * answer is, the host ignoring case (the URL parser lower-cased it).
 */
function scrubWhere(where: { host: string; path: string }, patterns: ScrubPatterns): void {
  where.path = scrubBytes(Buffer.from(where.path, 'latin1'), patterns).body.toString('latin1');
  where.host = scrubIgnoringCase(where.host, patterns);
}

/**
 * How a value is written into a text body, by the body's content type: form-encoded in a form (a "+"
 * or "&" in a value would otherwise change it), JSON-escaped in JSON (a quote in a value would
 * otherwise end the string, or add fields), as it is otherwise.
 */
function bodyEncoder(headers: ReadonlyArray<readonly [string, string]>): (value: string) => string {
  const type = (headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return (value) => new URLSearchParams({ v: value }).toString().slice(2);
  if (type === 'application/json' || type.endsWith('+json')) return (value) => JSON.stringify(value).slice(1, -1);
  return (value) => value;
}

/**
 * The request with its placeholders filled: URL-encoded in the query (a value must not change where
 * the query's parts begin and end), as they are in header values, and in the body as its content type
 * needs (bodyEncoder). A value that cannot
 * go in a header (a line break) is refused, naming the header, never quoting the value.
 */
function fillRequest(request: ParsedBrokeredRequest, fills: ReadonlyMap<string, string>): { url: URL; headers: Array<[string, string]>; body: Buffer | undefined } | VaultError {
  const url = new URL(request.url.href);
  url.search = fillPlaceholders(request.url.search, (text) => encodeURIComponent(fills.get(text) ?? ''));
  const headers: Array<[string, string]> = [];
  for (const [name, value] of request.headers) {
    const filled = fillPlaceholders(value, (text) => fills.get(text) ?? '');
    if (!isSendableHeaderValue(filled)) {
      return invalidInput(`headers.${name}`, `headers.${name}: a secret's value cannot be sent in a header (it holds a line break, another control character or characters outside Latin-1); send it in the body instead`);
    }
    headers.push([name, filled]);
  }
  let body: Buffer | undefined;
  if (request.body !== null) {
    const encode = bodyEncoder(request.headers);
    body = 'text' in request.body ? Buffer.from(fillPlaceholders(request.body.text, (text) => encode(fills.get(text) ?? '')), 'utf8') : request.body.bytes;
  }
  if (body !== undefined && body.length > 10 * 1024 * 1024) return invalidInput('body', 'body must be at most 10 MiB once its placeholders are filled');
  return { url, headers, body };
}

export type BrokerService = ReturnType<typeof brokerService>;
