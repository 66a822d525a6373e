import type { RuntimeSecret, RuntimeSecretList } from '../contract/api.js';
import { MissingAccess, SecretNotFound, SecretsError, VaultUnreachable } from './errors.js';

/**
 * The run-time API as an agent key sees it (SPEC section 4): read one secret, list the readable ones.
 * Every call goes to the service: nothing is cached, so a revoked grant or a new value holds from the
 * next call (SPEC S7). Reads are idempotent, so a failure to get any answer (network, timeout, 502–504)
 * is retried a bounded number of times with backoff; a 4xx is an answer and is never retried.
 */

export const DEFAULT_URL = 'http://127.0.0.1:8787';

/** The run-time API's answers, read off the types generated from the OpenAPI document (src/contract). */
export type SecretRead = RuntimeSecret;
export type ReadableSecrets = RuntimeSecretList;
export type ReadableSecret = RuntimeSecretList['secrets'][number];

export interface RuntimeClientOptions {
  agentKey: string;
  /** The service, e.g. http://127.0.0.1:8787. */
  url?: string;
  /** Per attempt, in milliseconds. */
  timeoutMs?: number;
  /** Attempts in all for a read that gets no answer (at least 1). */
  attempts?: number;
  /** The first pause between attempts; it doubles each time, with jitter. */
  backoffMs?: number;
  fetch?: typeof fetch;
}

export interface RuntimeClient {
  readonly url: string;
  /** `agent` names the agent in errors when the caller knows it. */
  readSecret(name: string, agent?: string): Promise<SecretRead>;
  listReadableSecrets(): Promise<ReadableSecrets>;
}

const RETRIED_STATUSES = new Set([502, 503, 504]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the service is, as safe to print: without any user:password of the URL. */
function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

export function runtimeClient(options: RuntimeClientOptions): RuntimeClient {
  const base = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
  const where = printableUrl(base);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoffMs = options.backoffMs ?? 100;
  const doFetch = options.fetch ?? fetch;
  const { agentKey } = options;

  interface Answer {
    status: number;
    body: unknown;
  }

  /** One answer from the service, retrying only when none came or the service said "try again". */
  async function get(path: string, context: { secret?: string; agent?: string }): Promise<Answer> {
    // fetch's own complaint about a bad header value would quote the key.
    if (!/^[\x21-\x7e]+$/.test(agentKey)) {
      throw new SecretsError('The agent key must be one word with no spaces or line breaks.', { code: 'unauthenticated', status: 0, ...context });
    }
    let failure: { reason: 'timeout' | 'network'; detail: string } | undefined;
    let answer: Answer | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(backoffMs * 2 ** (attempt - 2) * (0.5 + Math.random()));
      try {
        const response = await doFetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${agentKey}`, accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
          cache: 'no-store',
        });
        const text = await response.text();
        let body: unknown;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          throw new SecretsError(`${where} answered ${response.status} with something that is not JSON; is AGENT_SECRETS_URL right?`, { code: 'bad_response', status: response.status, ...context });
        }
        answer = { status: response.status, body };
        failure = undefined;
        if (!RETRIED_STATUSES.has(response.status)) return answer;
      } catch (error) {
        if (error instanceof SecretsError) throw error;
        failure = describeFailure(error);
      }
    }
    if (failure) {
      const message = failure.reason === 'timeout'
        ? `agent-secrets at ${where} did not answer within ${timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'}).`
        : `cannot reach agent-secrets at ${where} (${failure.detail}) after ${attempts} attempt${attempts === 1 ? '' : 's'}; is it running, and is AGENT_SECRETS_URL right?`;
      throw new VaultUnreachable(message, { reason: failure.reason, ...context });
    }
    return answer as Answer;
  }

  function refusal(answer: Answer, context: { secret?: string; agent?: string }): SecretsError {
    const error = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : 'error';
    const message = typeof error?.message === 'string' ? error.message : `agent-secrets answered HTTP ${answer.status}.`;
    const details = { status: answer.status, agent: context.agent };
    if (code === 'SecretNotFound' && context.secret !== undefined) return new SecretNotFound(message, { ...details, secret: context.secret });
    if (code === 'MissingAccess' && context.secret !== undefined) return new MissingAccess(message, { ...details, secret: context.secret });
    return new SecretsError(message, { ...details, code, secret: context.secret });
  }

  return {
    url: base,

    async readSecret(name, agent) {
      const context = { secret: name, agent };
      if (typeof name !== 'string' || name === '') {
        throw new SecretsError('get_secret needs the secret\'s name, e.g. get_secret("stripe_api_key").', { code: 'invalid_input', status: 0, ...context });
      }
      const answer = await get(`/runtime/v1/secrets/${encodeURIComponent(name)}`, context);
      if (answer.status !== 200) throw refusal(answer, context);
      const body = answer.body as Partial<SecretRead> | undefined;
      if (!body || (typeof body.value !== 'string' && (typeof body.value !== 'object' || body.value === null))) {
        throw new SecretsError(`${where} answered without a secret value; is AGENT_SECRETS_URL right?`, { code: 'bad_response', status: answer.status, ...context });
      }
      return body as SecretRead;
    },

    async listReadableSecrets() {
      const answer = await get('/runtime/v1/secrets', {});
      if (answer.status !== 200) throw refusal(answer, {});
      return answer.body as ReadableSecrets;
    },
  };
}

/** Why no answer came, without the HTTP client's message (which can quote request headers). */
function describeFailure(error: unknown): { reason: 'timeout' | 'network'; detail: string } {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return { reason: 'timeout', detail: 'timeout' };
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return { reason: 'network', detail: typeof code === 'string' ? code : 'network error' };
}
