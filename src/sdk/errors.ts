/**
 * The errors a function sees (SPEC S10). Each carries the secret's name, the agent and the service's
 * own message; none ever carries a value or the agent key.
 *
 * `instanceof` is decided by a brand rather than by prototype identity, because a function file may
 * import the SDK from its TypeScript source (run through tsx) while the runner uses the built copy:
 * two module instances, one set of error classes as far as the function can tell.
 */
const BRAND = Symbol.for('agent-secrets.sdk.error');

type Branded = { [BRAND]?: readonly string[] };

export interface SecretsErrorDetails {
  /** The service's error code (`SecretNotFound`, `MissingAccess`, `unauthenticated`, …), or `unreachable`. */
  code: string;
  /** The HTTP status, or 0 when no answer came. */
  status: number;
  secret?: string | undefined;
  agent?: string | undefined;
}

/** Any failure of a run-time call to agent-secrets. */
export class SecretsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly secret: string | undefined;
  readonly agent: string | undefined;

  constructor(message: string, details: SecretsErrorDetails) {
    super(message);
    this.name = new.target.name;
    this.code = details.code;
    this.status = details.status;
    this.secret = details.secret;
    this.agent = details.agent;
    const brands: string[] = [];
    for (let type: unknown = new.target; typeof type === 'function' && type !== Error; type = Object.getPrototypeOf(type)) {
      brands.push((type as { name: string }).name);
    }
    Object.defineProperty(this, BRAND, { value: Object.freeze(brands) });
  }

  static override [Symbol.hasInstance](this: { name: string }, value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    return (value as Branded)[BRAND]?.includes(this.name) ?? false;
  }
}

/** The account has no secret of that name (or it was deleted). `suggestion` is the service's "did you mean". */
export class SecretNotFound extends SecretsError {
  readonly suggestion: string | undefined;

  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'> & { secret: string }) {
    super(message, { ...details, code: 'SecretNotFound' });
    this.suggestion = /Did you mean "([^"]+)"\?/.exec(message)?.[1];
  }
}

/** The secret exists but this agent is not on its access list. */
export class MissingAccess extends SecretsError {
  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'> & { secret: string }) {
    super(message, { ...details, code: 'MissingAccess' });
  }
}

/**
 * No answer from agent-secrets: connection refused or reset, DNS failure, or a timeout, after the
 * bounded retries. Distinct from SecretNotFound so that a function never mistakes an outage for a
 * missing secret.
 */
export class VaultUnreachable extends SecretsError {
  readonly reason: 'timeout' | 'network';

  constructor(message: string, details: Omit<SecretsErrorDetails, 'code' | 'status'> & { reason: 'timeout' | 'network' }) {
    super(message, { ...details, code: 'unreachable', status: 0 });
    this.reason = details.reason;
  }
}

/** SPEC S27: the secret is broker-only; use it through conv.http.fetch, which never hands its value out. */
export class BrokerOnly extends SecretsError {
  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'> & { secret: string }) {
    super(message, { ...details, code: 'BrokerOnly' });
  }
}

/** SPEC S26: the URL's host is not among the allowed hosts of every secret the request uses (or is private). Nothing was sent. */
export class HostNotAllowed extends SecretsError {
  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'>) {
    super(message, { ...details, code: 'HostNotAllowed' });
  }
}

/** SPEC S26: the vault could not get an answer from the upstream (connection, certificate, size). */
export class UpstreamUnreachable extends SecretsError {
  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'>) {
    super(message, { ...details, code: 'UpstreamUnreachable' });
  }
}

/** SPEC S26: the upstream did not answer in time. */
export class UpstreamTimeout extends SecretsError {
  constructor(message: string, details: Omit<SecretsErrorDetails, 'code'>) {
    super(message, { ...details, code: 'UpstreamTimeout' });
  }
}

/**
 * The SDK error for a service refusal by its code: one table for the run-time client and the
 * function channel, so a function sees the same classes however it runs.
 */
export function errorForCode(code: string, message: string, details: Omit<SecretsErrorDetails, 'code'>): SecretsError {
  const { secret } = details;
  if (code === 'SecretNotFound' && secret !== undefined) return new SecretNotFound(message, { ...details, secret });
  if (code === 'MissingAccess' && secret !== undefined) return new MissingAccess(message, { ...details, secret });
  if (code === 'BrokerOnly' && secret !== undefined) return new BrokerOnly(message, { ...details, secret });
  if (code === 'HostNotAllowed') return new HostNotAllowed(message, details);
  if (code === 'UpstreamUnreachable') return new UpstreamUnreachable(message, details);
  if (code === 'UpstreamTimeout') return new UpstreamTimeout(message, details);
  return new SecretsError(message, { ...details, code });
}
