import { didYouMean } from './suggest.js';

/**
 * Every failure the product reports is a VaultError with a stable code. The HTTP layer maps codes to
 * statuses in one table (src/http/errors.ts); messages are written for the person who reads them and
 * never contain a secret value, key or token.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unauthenticated'
  | 'csrf_failed'
  | 'admin_required'
  | 'password_change_required'
  | 'password_sign_in_disabled'
  | 'sso_sign_in_required'
  | 'vault_not_enabled'
  | 'forbidden'
  | 'not_found'
  | 'name_taken'
  | 'email_taken'
  | 'conflict'
  | 'rate_limited'
  | 'audit_unavailable'
  | 'unavailable'
  | 'secret_unreadable'
  | 'SecretNotFound'
  | 'MissingAccess';

export class VaultError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
    this.field = field;
  }
}

export const invalidInput = (field: string, message: string): VaultError =>
  new VaultError('invalid_input', message, field);

export const notFound = (what: string, field?: string): VaultError =>
  new VaultError('not_found', what, field);

/** The run-time read's refusal when the account has no secret of that name (SPEC S10). */
export function secretNotFound(secret: string, agent: string, suggestion?: string): VaultError {
  const hint = didYouMean(suggestion);
  return new VaultError(
    'SecretNotFound',
    `Secret "${secret}" does not exist in this account (agent "${agent}").${hint} ` +
      `Check the name, or ask an admin to create it on the Secrets tab and grant "${agent}" access.`,
  );
}

/**
 * A stored value that fails its integrity check: its ciphertext (or its data key) was altered, or moved
 * from another secret or version, or sealed under a master key this service does not hold. Nothing
 * is answered; the store, not the request, is at fault, so retrying does not help.
 */
export function secretUnreadable(secret: string, version: number): VaultError {
  return new VaultError(
    'secret_unreadable',
    `Version ${version} of secret "${secret}" cannot be opened: it fails its integrity check (the stored bytes were altered or moved, ` +
      'or sealed under another master key). Nothing was answered and the attempt is audited; set a new value, or restore the store from a backup.',
  );
}

/** The run-time read's refusal when the secret exists but the agent is not on its access list. */
export function missingAccess(secret: string, agent: string): VaultError {
  return new VaultError(
    'MissingAccess',
    `Agent "${agent}" has no access to secret "${secret}". ` +
      `An admin can grant it on the secret's page under Agent access (or: agent-secrets access grant ${secret} "${agent}").`,
  );
}
