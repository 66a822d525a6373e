/**
 * The CLI's client for the management API: AGENT_SECRETS_URL (default http://127.0.0.1:8787) and
 * AGENT_SECRETS_TOKEN (a personal access token).
 */
export const DEFAULT_URL = 'http://127.0.0.1:8787';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** A GET whose answer is streamed (JSON lines), as text chunks. */
  stream(path: string): Promise<AsyncIterable<string>>;
}

const NO_TOKEN =
  'set AGENT_SECRETS_TOKEN to a personal access token (asp_…): the one `npm start` (agent-secrets serve) printed on its first start, ' +
  'or the one agent-secrets init printed (a user with a token makes more: agent-secrets tokens create NAME)';

export function serviceUrl(): string {
  const url = process.env.AGENT_SECRETS_URL || DEFAULT_URL;
  return url.replace(/\/+$/, '');
}

export function apiClient(options: { url?: string; token?: string } = {}): ApiClient {
  const base = (options.url ?? serviceUrl()).replace(/\/+$/, '');
  const token = options.token ?? process.env.AGENT_SECRETS_TOKEN;

  async function send(method: string, path: string, body: unknown, timeoutMs: number | undefined): Promise<Response> {
    if (!token) throw new ApiError(0, 'no_token', NO_TOKEN);
    // Checked here because fetch's own complaint about a bad header would quote the token.
    if (!/^[\x21-\x7e]+$/.test(token)) throw new ApiError(0, 'bad_token', 'AGENT_SECRETS_TOKEN must be one token with no spaces or line breaks');
    try {
      return await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
      });
    } catch (error) {
      // Only the network error's code is shown: messages of the HTTP client can quote request headers.
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      const reason = typeof code === 'string' ? ` (${code})` : '';
      throw new ApiError(0, 'unreachable', `cannot reach agent-secrets at ${base}${reason}; is it running? (AGENT_SECRETS_URL)`);
    }
  }

  async function parse(response: Response): Promise<unknown> {
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'bad_response', `${base} answered ${response.status} with something that is not JSON; is AGENT_SECRETS_URL right?`);
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
      throw new ApiError(response.status, error?.code ?? 'error', error?.message ?? `HTTP ${response.status}`, error?.field);
    }
    return parsed;
  }

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await send(method, path, body, 30_000);
      if (response.status === 204) return undefined as T;
      return (await parse(response)) as T;
    },
    async stream(path: string): Promise<AsyncIterable<string>> {
      const response = await send('GET', path, undefined, undefined);
      if (!response.ok || response.body === null) {
        await parse(response);
        throw new ApiError(response.status, 'bad_response', `${base} answered ${response.status} without a body`);
      }
      return response.body.pipeThrough(new TextDecoderStream());
    },
  };
}

export const enc = encodeURIComponent;
