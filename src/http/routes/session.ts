import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VaultError } from '../../domain/errors.js';
import type { UserCaller } from '../../vault/callers.js';
import type { Vault } from '../../vault/index.js';
import { outcomeOf } from '../../vault/metrics.js';
import { SESSION_HOURS } from '../../vault/people.js';
import { SESSION_COOKIE, authenticateUser, callerOf } from '../auth.js';
import { RateLimiter, enforce, type RateLimits } from '../rateLimit.js';
import { errorSchema, loginBody, passwordChangeBody } from '../schemas.js';

const whoami = (caller: UserCaller) => ({
  user: { id: caller.userId, email: caller.email, role: caller.role },
  account: { id: caller.accountId, name: caller.accountName, vaultEnabled: caller.vaultEnabled },
  passwordChangeRequired: caller.session?.passwordChangeOnly ?? false,
});

const sessionSchema = z.object({
  user: z.object({ id: z.string(), email: z.string(), role: z.string() }),
  account: z.object({ id: z.string(), name: z.string(), vaultEnabled: z.boolean() }),
  passwordChangeRequired: z
    .boolean()
    .describe('True for a session opened with a one-time password: it may only change the password (POST /api/v1/auth/password); every other route answers 403 password_change_required'),
  csrfToken: z.string().optional(),
});

/** The console's session cookie: HttpOnly, SameSite=Strict, for the whole console (password and SSO sign-ins). */
export function setSessionCookie(reply: FastifyReply, sessionToken: string, secure: boolean): void {
  void reply.setCookie(SESSION_COOKIE, sessionToken, { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: SESSION_HOURS * 3600 });
}

/** Console sign-in: a session cookie (HttpOnly, SameSite=Strict) and a CSRF token for writes. */
export function sessionRoutes(vault: Vault, options: { secureCookies: boolean; limits: RateLimits }): FastifyPluginAsyncZod {
  const perAccount = new RateLimiter(options.limits.signInsPerAccountPerMinute / 60, options.limits.signInsPerAccountPerMinute);
  const perAddress = new RateLimiter(options.limits.signInsPerAddressPerMinute / 60, options.limits.signInsPerAddressPerMinute);
  return async (app) => {
    app.post(
      '/api/v1/auth/login',
      { schema: { summary: 'Sign in with email and password', tags: ['auth'], body: loginBody, response: { 200: sessionSchema, 400: errorSchema, 401: errorSchema, 429: errorSchema } } },
      async (request, reply) => {
        let signedIn: Awaited<ReturnType<typeof vault.people.login>>;
        try {
          // Guessing passwords is slowed per address and per account, before any password is checked.
          enforce(perAddress, request.ip, reply, 'sign-in attempts from this address');
          enforce(perAccount, request.body.email.toLowerCase(), reply, 'sign-in attempts for this account');
          signedIn = await vault.people.login(request.body.email, request.body.password);
          vault.metrics.signIn('password', 'success');
        } catch (error) {
          vault.metrics.signIn('password', outcomeOf(error));
          throw error;
        }
        const { sessionToken, csrfToken, caller } = signedIn;
        setSessionCookie(reply, sessionToken, options.secureCookies);
        return { ...whoami(caller), csrfToken };
      },
    );

    app.post('/api/v1/auth/logout', { schema: { summary: 'Sign out', tags: ['auth'] } }, async (request, reply) => {
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie !== undefined) await vault.people.logout(cookie);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    });

    app.post(
      '/api/v1/auth/password',
      {
        onRequest: authenticateUser(vault, { allowPasswordChangeOnly: true }),
        schema: {
          summary: "Change your own password (at least 12 characters, not the current one); ends your other sessions",
          tags: ['auth'],
          body: passwordChangeBody,
          response: { 200: sessionSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 409: errorSchema, 429: errorSchema },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        // It checks a password, so guessing is slowed as sign-in is.
        enforce(perAddress, request.ip, reply, 'password attempts from this address');
        enforce(perAccount, caller.email, reply, 'password attempts for this account');
        await vault.passwords.changePassword(caller, request.body.currentPassword, request.body.newPassword);
        const changed = { ...caller, session: caller.session && { ...caller.session, passwordChangeOnly: false } };
        return request.csrfToken === null ? whoami(changed) : { ...whoami(changed), csrfToken: request.csrfToken };
      },
    );

    app.get(
      '/api/v1/auth/session',
      { onRequest: authenticateUser(vault, { allowPasswordChangeOnly: true }), schema: { summary: 'Who is signed in', tags: ['auth'], response: { 200: sessionSchema, 401: errorSchema } } },
      async (request) => {
        const caller = callerOf(request);
        return request.csrfToken === null ? whoami(caller) : { ...whoami(caller), csrfToken: request.csrfToken };
      },
    );

    // The console's first look: a browser that is not signed in is the normal case on the sign-in
    // page, so it is answered 200, not 401 (a 401 is an error in the browser's console).
    const identify = authenticateUser(vault, { allowPasswordChangeOnly: true });
    app.get(
      '/api/v1/auth/status',
      {
        schema: {
          summary: 'Whether this browser is signed in, and as whom: 200 either way (GET /api/v1/auth/session answers 401 when not)',
          tags: ['auth'],
          response: { 200: z.object({ session: sessionSchema.nullable().describe('null when not signed in (no session, or it ended)') }), 403: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          await identify(request, reply);
        } catch (error) {
          if (error instanceof VaultError && error.code === 'unauthenticated') return { session: null };
          throw error;
        }
        const caller = callerOf(request);
        return { session: request.csrfToken === null ? whoami(caller) : { ...whoami(caller), csrfToken: request.csrfToken } };
      },
    );
  };
}
