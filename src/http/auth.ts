import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VaultError } from '../domain/errors.js';
import { passwordChangeRequired, type UserCaller } from '../vault/callers.js';
import type { Vault } from '../vault/index.js';

export const SESSION_COOKIE = 'agent_secrets_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    caller: UserCaller | null;
    /** Set for console sessions: the token writes must echo in the x-csrf-token header. */
    csrfToken: string | null;
  }
}

/** The bearer credential of the Authorization header, if any. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Resolves the caller of a management request, fresh on every request (a revoked token or a removed
 * user holds at once): a personal access token, or the console's session cookie. Cookie-authenticated
 * writes must also carry the session's CSRF token in a header, which another site cannot read.
 * A session opened with a one-time password gets 403 password_change_required everywhere but on the
 * few routes that say `allowPasswordChangeOnly` (who am I, change my password; SPEC S19).
 */
export function authenticateUser(vault: Vault, options: { allowPasswordChangeOnly?: boolean } = {}) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request);
    if (token !== undefined) {
      request.caller = await vault.people.authenticateToken(token);
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie === undefined) {
      throw new VaultError('unauthenticated', 'Sign in, or send a personal access token as "Authorization: Bearer <token>".');
    }
    const { caller, csrfToken } = await vault.people.authenticateSession(cookie);
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (typeof presented !== 'string' || !sameText(presented, csrfToken)) {
        throw new VaultError('csrf_failed', `Missing or wrong ${CSRF_HEADER} header; reload the console and try again.`);
      }
    }
    if (caller.session?.passwordChangeOnly && options.allowPasswordChangeOnly !== true) throw passwordChangeRequired();
    request.caller = caller;
    request.csrfToken = csrfToken;
  };
}

export function callerOf(request: FastifyRequest): UserCaller {
  if (request.caller === null) throw new VaultError('unauthenticated', 'Sign in first.');
  return request.caller;
}
