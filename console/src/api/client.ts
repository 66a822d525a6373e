/**
 * The one door to the HTTP API. The CSRF token lives only in memory (never in browser storage);
 * every write carries it in the x-csrf-token header. The session cookie itself is HttpOnly.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The input the server names, e.g. "name", "value.client_id", "agents[0]". */
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let csrfToken: string | null = null;
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the server says the session is gone (expired, signed out elsewhere, user removed). */
export function whenSignedOut(handler: (() => void) | null): void {
  onSignedOut = handler;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'The service cannot be reached. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (payload as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const failure = new ApiError(response.status, error?.code ?? 'unknown', error?.message ?? `The service answered ${response.status}.`, error?.field);
    if (response.status === 401 && !path.startsWith('/api/v1/auth/')) onSignedOut?.();
    throw failure;
  }
  return payload as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: (path: string) => request<void>('DELETE', path),
};

/** A path segment from a name or id ("Booking agent" → "Booking%20agent"). */
export const seg = (text: string): string => encodeURIComponent(text);

/** A message for any failure, for places that show one line. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : 'Something went wrong.');
