import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NO_CONTROL_CHARACTERS } from '../../domain/names.js';
import { ROLES } from '../../domain/roles.js';
import type { SsoRefusal } from '../../domain/sso.js';
import { ssoSettingsSchema } from '../../domain/ssoSettings.js';
import type { Vault } from '../../vault/index.js';
import type { SsoSettingsView } from '../../vault/ssoSettings.js';
import { outcomeOf } from '../../vault/metrics.js';
import { SSO_FLOW_MINUTES, SsoSignInError } from '../../vault/ssoSignIn.js';
import { callerOf } from '../auth.js';
import { RateLimiter, enforce, type RateLimits } from '../rateLimit.js';
import { errorSchema } from '../schemas.js';
import { setSessionCookie } from './session.js';

/** The browser's side of a sign-in under way: it binds the provider's answer to the browser that asked. */
export const SSO_FLOW_COOKIE = 'agent_secrets_sso_flow';
const CALLBACK_PATH = '/api/v1/auth/sso/callback';

export interface SsoRouteOptions {
  secureCookies: boolean;
  limits: RateLimits;
  /** The service's public URL (`serve --public-url`); without it, the request's own scheme and host. */
  publicUrl?: string | undefined;
}

const settingsView = z.object({
  configured: z.boolean(),
  issuer: z.string().nullable(),
  clientId: z.string().nullable(),
  clientSecretSet: z.boolean().describe('The client secret itself is never answered'),
  allowedDomains: z.array(z.string()),
  jitRole: z.enum(ROLES).nullable(),
  passwordSignIn: z.boolean(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  redirectUri: z.string().describe('The redirect URI to register at the identity provider'),
  signedInWithSso: z.boolean().describe('Whether this session was opened through the current configuration (turning passwords off needs it)'),
});

const optionalText = (max: number) => z.string().max(max, { error: `must be at most ${max} characters` }).regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' }).optional();
const startQuery = z.object({ email: optionalText(320), account: optionalText(200), returnTo: optionalText(500) });

export function redirectUriOf(request: FastifyRequest, publicUrl: string | undefined): string {
  const base = publicUrl ?? `${request.protocol}://${request.host}`;
  return `${base.replace(/\/+$/, '')}${CALLBACK_PATH}`;
}

/** Back to the sign-in page, which tells the refusal in plain words (domain/sso.ts SSO_REFUSALS). */
const toSignInPage = (reply: FastifyReply, refusal: SsoRefusal) => reply.redirect(`/?sso_error=${refusal}`, 302);

/** SPEC S29: signing in through the account's identity provider (public routes: the person is not signed in yet). */
export function ssoSignInRoutes(vault: Vault, options: SsoRouteOptions): FastifyPluginAsyncZod {
  const perAddress = new RateLimiter(options.limits.signInsPerAddressPerMinute / 60, options.limits.signInsPerAddressPerMinute);
  const flowCookie = { httpOnly: true, secure: options.secureCookies, path: '/api/v1/auth/sso', maxAge: SSO_FLOW_MINUTES * 60 } as const;
  /** A refusal at either step goes back to the sign-in page in plain words; anything else is thrown on. */
  const refused = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    if (error instanceof SsoSignInError) {
      request.log.info({ refusal: error.refusal }, 'SSO sign-in refused');
      // The refusal codes are a closed set (domain/sso.ts SSO_REFUSALS): fit for a label.
      vault.metrics.signIn('sso', error.refusal);
      return toSignInPage(reply, error.refusal);
    }
    vault.metrics.signIn('sso', outcomeOf(error));
    throw error;
  };
  return async (app) => {
    app.get(
      '/api/v1/auth/sso/start',
      {
        schema: {
          summary: 'Start signing in with SSO: redirects to the identity provider of the account found from the email (its user, else its domain) or named',
          tags: ['auth'],
          querystring: startQuery,
          response: { 302: z.null().describe('To the identity provider, or back to the sign-in page with ?sso_error=CODE'), 400: errorSchema, 429: errorSchema },
          description: 'Rate limited per address like password sign-ins: each start asks the provider and keeps a flow for 10 minutes.',
        },
      },
      async (request, reply) => {
        enforce(perAddress, request.ip, reply, 'SSO sign-ins from this address');
        try {
          const started = await vault.ssoSignIn.start({ ...request.query, redirectUri: redirectUriOf(request, options.publicUrl) });
          // Lax, not Strict: the provider sends the browser back with a cross-site navigation.
          void reply.setCookie(SSO_FLOW_COOKIE, started.flowToken, { ...flowCookie, sameSite: 'lax' });
          return reply.redirect(started.authorizationUrl, 302);
        } catch (error) {
          return refused(request, reply, error);
        }
      },
    );

    app.get(
      CALLBACK_PATH,
      { schema: { summary: 'Where the identity provider sends the browser back: a session cookie and the console, or the sign-in page with ?sso_error=CODE', tags: ['auth'], response: { 302: z.null() } } },
      async (request, reply) => {
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        const flowToken = request.cookies[SSO_FLOW_COOKIE];
        void reply.clearCookie(SSO_FLOW_COOKIE, { path: flowCookie.path });
        try {
          const signedIn = await vault.ssoSignIn.finish(flowToken, query);
          vault.metrics.signIn('sso', 'success');
          setSessionCookie(reply, signedIn.sessionToken, options.secureCookies);
          return reply.redirect(signedIn.returnTo, 302);
        } catch (error) {
          return refused(request, reply, error);
        }
      },
    );
  };
}

/** SPEC S29: the account's SSO settings, for its admins (behind the management authentication hook). */
export function ssoSettingsRoutes(vault: Vault, options: Pick<SsoRouteOptions, 'publicUrl'>): FastifyPluginAsyncZod {
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
  return async (app) => {
    const answer = (request: FastifyRequest, view: SsoSettingsView) => ({ ...view, redirectUri: redirectUriOf(request, options.publicUrl) });
    app.get('/api/v1/settings/sso', { schema: { summary: "The account's single sign-on settings (admins)", tags: ['settings'], response: { 200: settingsView, ...errors } } }, async (request) =>
      answer(request, await vault.ssoSettings.getSettings(callerOf(request))),
    );
    app.put(
      '/api/v1/settings/sso',
      {
        schema: {
          summary: 'Set up or change single sign-on (admins): the issuer is discovered now; turning password sign-in off needs an SSO sign-in through this configuration in this session',
          tags: ['settings'],
          body: ssoSettingsSchema,
          response: { 200: settingsView, ...errors },
        },
      },
      async (request) => answer(request, await vault.ssoSettings.saveSettings(callerOf(request), request.body)),
    );
    app.delete(
      '/api/v1/settings/sso',
      { schema: { summary: 'Remove single sign-on (admins; needs password sign-in on)', tags: ['settings'], response: { 204: z.null().describe('No content'), ...errors } } },
      async (request, reply) => {
        await vault.ssoSettings.removeSettings(callerOf(request));
        return reply.status(204).send(null);
      },
    );
  };
}
