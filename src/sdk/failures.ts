import { SecretsError } from './errors.js';
import { describeThrown } from './format.js';

/**
 * How a failed function run reads: one line. A function's own upstream (the booking API it calls)
 * that cannot be reached is an outage or a wrong address, not a bug: it reads as the origin it tried
 * and why (`cannot reach https://api.example.com (ECONNREFUSED: connection refused)`), never as
 * undici's `TypeError: fetch failed` and a stack of undici's frames. Any other thrown error keeps its
 * name and message and where it was thrown; its whole stack only when asked for (`run --verbose`).
 */

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is it running?',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be looked up',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_SOCKET: 'the connection broke',
};

/** The origin each failed fetch was sent to, kept beside its error (the error itself does not say). */
const fetchOrigins = new WeakMap<object, string>();

/**
 * Wraps the process's fetch so that a failure remembers where it went. The function gets the very
 * error fetch threw, unchanged: only this module's lookup knows more.
 */
export function rememberFetchOrigins(): void {
  const original = globalThis.fetch;
  globalThis.fetch = async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    try {
      return await original(input, init);
    } catch (error) {
      const origin = originOf(input);
      if (origin !== undefined && typeof error === 'object' && error !== null) fetchOrigins.set(error, origin);
      throw error;
    }
  };
}

function originOf(input: string | URL | Request): string | undefined {
  try {
    // The origin only: a path or query may hold what the function would rather not print.
    return new URL(input instanceof Request ? input.url : input).origin;
  } catch {
    return undefined;
  }
}

/** "cannot reach …" for a fetch that got no answer, else undefined. */
export function upstreamFailure(thrown: unknown): string | undefined {
  if (!(thrown instanceof Error)) return undefined;
  const origin = fetchOrigins.get(thrown);
  const where = origin ?? 'an upstream';
  if (thrown.name === 'TimeoutError' || thrown.name === 'AbortError') {
    return origin === undefined ? undefined : `no answer from ${origin} in time (${thrown.name})`;
  }
  if (!(thrown instanceof TypeError) || thrown.message !== 'fetch failed') return undefined;
  const cause = (thrown as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const reason = code === undefined ? (typeof cause?.message === 'string' ? cause.message : 'no answer') : `${code}: ${REASONS[code] ?? 'no answer'}`;
  return `cannot reach ${where} (${reason})`;
}

/** The failure as the text the runner prints: one line, plus the stack only when `verbose`. */
export function describeFailure(prefix: string, thrown: unknown, verbose: boolean): string {
  const upstream = upstreamFailure(thrown);
  if (upstream !== undefined && !verbose) return `agent-secrets: ${prefix}${upstream}\n`;
  const { name, message, stack } = describeThrown(thrown);
  const head = `agent-secrets: ${prefix}${upstream ?? `${name}: ${message}`}`;
  // SDK errors explain themselves; for anything else, where it was thrown is what the author needs.
  if (thrown instanceof SecretsError || !stack) return `${head}\n`;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  if (frames.length === 0) return `${head}\n`;
  if (verbose) return `${head}\n${frames.join('\n')}\n`;
  const where = /\(([^()]+)\)\s*$/.exec(frames[0] ?? '')?.[1] ?? frames[0]?.trim().replace(/^at /, '');
  return `${head} (at ${where}; run --verbose for the stack)\n`;
}
