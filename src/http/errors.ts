import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { VaultError, type ErrorCode } from '../domain/errors.js';
import { isStorageUnavailable } from '../vault/index.js';

/** The one table from error codes to HTTP statuses. */
export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_input: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  uri_too_long: 414,
  headers_too_large: 431,
  request_timeout: 408,
  unauthenticated: 401,
  csrf_failed: 403,
  admin_required: 403,
  password_change_required: 403,
  password_sign_in_disabled: 403,
  sso_sign_in_required: 403,
  vault_not_enabled: 403,
  forbidden: 403,
  not_found: 404,
  name_taken: 409,
  email_taken: 409,
  conflict: 409,
  rate_limited: 429,
  audit_unavailable: 503,
  unavailable: 503,
  secret_unreadable: 500,
  reveal_not_allowed: 403,
  SecretNotFound: 404,
  MissingAccess: 403,
  BrokerOnly: 403,
  HostNotAllowed: 403,
  UpstreamUnreachable: 502,
  UpstreamTimeout: 504,
};

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(error: VaultError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) } };
}

/** "/value/client_id" in the body → "value.client_id"; the whole body → "body". */
function fieldOf(context: string | undefined, instancePath: string): string {
  const path = instancePath.split('/').filter(Boolean).join('.');
  if (context === 'body' || context === undefined) return path || 'body';
  return path || context;
}

/**
 * Turns anything thrown while handling a request into the public error shape. Known failures keep
 * their code; framework refusals (bad JSON, too large, wrong content type) become 4xx; anything else
 * is undefined: a 500 whose message says nothing of the request.
 */
export function toVaultError(error: unknown): VaultError | undefined {
  if (error instanceof VaultError) return error;
  if (isStorageUnavailable(error)) {
    return new VaultError('unavailable', 'The vault cannot reach its database right now; nothing was changed. Try again shortly.');
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext;
    const first = error.validation[0];
    const field = fieldOf(context, first?.instancePath ?? '');
    return new VaultError('invalid_input', `${field}: ${first?.message ?? 'is invalid'}`, field);
  }
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VaultError('payload_too_large', 'The request body is too large.', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new VaultError('invalid_input', 'The body must be valid JSON.', 'body');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new VaultError('unsupported_media_type', 'Send the body as JSON: "content-type: application/json".', 'body');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new VaultError('invalid_input', 'The body does not match its content-length.', 'body');
    case 'FST_ERR_BAD_URL':
      return new VaultError('invalid_input', 'The path is not valid: it holds a malformed %-escape.', 'url');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new VaultError('uri_too_long', 'A part of the path is too long.', 'url');
    default:
      break;
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new VaultError('invalid_input', 'The request is malformed.', undefined);
  }
  return undefined;
}

export function sendError(reply: FastifyReply, error: VaultError): FastifyReply {
  return reply.status(STATUS_OF[error.code]).send(errorBody(error));
}

export function errorHandler(this: unknown, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const known = toVaultError(error);
  // Only a storage failure is the database's: a closing instance's 503 says so in its own words.
  if (known?.code === 'unavailable' && isStorageUnavailable(error)) request.log.warn({ failure: { name: (error as Error).name, message: (error as Error).message } }, 'database unavailable');
  // Names the secret and version, never a value: the operator's cue that stored bytes were tampered with.
  if (known?.code === 'secret_unreadable') request.log.error({ failure: { name: known.name, message: known.message } }, 'stored value failed its integrity check');
  if (known === undefined) {
    // Only the class and message are logged: the store and crypto layers keep values out of both.
    request.log.error({ failure: { name: (error as Error)?.name, message: (error as Error)?.message, code: (error as FastifyError)?.code } }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'Something went wrong on our side; it has been logged.' } });
  }
  return sendError(reply, known);
}

/**
 * Fastify's own refusals made before a route runs (a malformed %-escape, a path part longer than the
 * router takes): the documented shape instead of Fastify's `{"statusCode","error","message"}`.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void sendError(reply, toVaultError(error) ?? new VaultError('invalid_input', 'The request is malformed.'));
}
