import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { VaultError, type ErrorCode } from '../domain/errors.js';
import { isStorageUnavailable } from '../vault/index.js';

/** The one table from error codes to HTTP statuses. */
export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_input: 400,
  payload_too_large: 413,
  unauthenticated: 401,
  csrf_failed: 403,
  admin_required: 403,
  password_change_required: 403,
  vault_not_enabled: 403,
  forbidden: 403,
  not_found: 404,
  name_taken: 409,
  email_taken: 409,
  conflict: 409,
  rate_limited: 429,
  audit_unavailable: 503,
  unavailable: 503,
  SecretNotFound: 404,
  MissingAccess: 403,
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
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new VaultError('invalid_input', 'Send the body as application/json.', 'body');
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
  if (known?.code === 'unavailable') request.log.warn({ failure: { name: (error as Error).name, message: (error as Error).message } }, 'database unavailable');
  if (known === undefined) {
    // Only the class and message are logged: the store and crypto layers keep values out of both.
    request.log.error({ failure: { name: (error as Error)?.name, message: (error as Error)?.message, code: (error as FastifyError)?.code } }, 'request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'Something went wrong on our side; it has been logged.' } });
  }
  return sendError(reply, known);
}
