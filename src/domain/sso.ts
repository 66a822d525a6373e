import { z } from 'zod';
import { ROLES } from './roles.js';

/**
 * The rules of single sign-on (SPEC S29) that need no I/O: what an issuer, a client id and an allowed
 * email domain look like, where a sign-in may return to, and the plain words a refusal is told in.
 */

export const DOMAIN_RULE = 'a lower-case domain name such as example.com (letters, digits and hyphens, labels separated by dots)';
// Lower case only: the product compares domains as it stores them, and a lookalike in upper case or
// with a trailing dot would otherwise be a second, different entry for the same place.
const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const ssoDomainSchema = z.string({ error: `must be ${DOMAIN_RULE}` }).regex(DOMAIN_PATTERN, { error: `must be ${DOMAIN_RULE}` });

const PRINTABLE = /^[\x21-\x7e]+$/;

export const ssoSettingsSchema = z.strictObject(
  {
    issuer: z
      .string({ error: 'must be the issuer URL, such as https://login.example.com' })
      .max(2000, { error: 'must be at most 2000 characters' })
      .refine((text) => URL.canParse(text), { error: 'must be the issuer URL, such as https://login.example.com' }),
    clientId: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(500, { error: 'must be at most 500 characters' })
      .regex(PRINTABLE, { error: 'must be printable ASCII without spaces' }),
    clientSecret: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(2000, { error: 'must be at most 2000 characters' })
      .regex(PRINTABLE, { error: 'must be printable ASCII without spaces' })
      .optional()
      .describe('Write-only: never answered. Required the first time; leave it out to keep the one set'),
    allowedDomains: z
      .array(ssoDomainSchema, { error: 'must be a list of email domains' })
      .min(1, { error: 'must list at least one email domain' })
      .max(100, { error: 'must list at most 100 domains' })
      .refine((domains) => new Set(domains).size === domains.length, { error: 'must not list a domain twice' }),
    jitRole: z
      .enum(ROLES, { error: 'must be "admin", "member" or null (only existing users may sign in)' })
      .nullable()
      .describe('The role of users a first SSO sign-in creates; null: only existing users may sign in'),
    passwordSignIn: z.boolean({ error: 'must be true or false' }).describe('Whether password sign-in stays allowed for the account'),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export type SsoSettingsInput = z.infer<typeof ssoSettingsSchema>;

/** The domain part of an email, lower-cased; undefined for text that is not an email. */
export function emailDomain(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return undefined;
  return email.slice(at + 1).toLowerCase();
}

/**
 * Where the console goes after signing in: a path of this service only. Anything else (another
 * origin, `//host`, a backslash trick, control characters) becomes the console's start page, so a
 * crafted sign-in link cannot send a person elsewhere once signed in.
 */
export function safeReturnPath(path: string | undefined): string {
  if (path === undefined || path.length > 500) return '/';
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\') || /[\u0000-\u001f\u007f]/.test(path)) return '/';
  return path;
}

/** Why an SSO sign-in did not happen, as the sign-in page tells it (the codes travel in its URL). */
export const SSO_REFUSALS = {
  not_configured: 'Single sign-on is not set up for that email or account. Sign in with your password, or ask an admin.',
  provider_refused: 'Your identity provider did not sign you in. Try again, or ask your identity provider’s administrator.',
  provider_unreachable: 'The identity provider could not be reached. Try again shortly.',
  verification_failed: 'The answer from your identity provider could not be verified, so you were not signed in. Try again.',
  link_used: 'That sign-in has already been used or has expired. Start again with “Sign in with SSO”.',
  email_not_verified: 'Your identity provider does not say your email address is verified, so it cannot sign you in here.',
  email_not_allowed: 'Your email address is not in a domain this account allows for single sign-on.',
  no_such_user: 'There is no user with your email address in this account. Ask an admin to add you.',
} as const;

export type SsoRefusal = keyof typeof SSO_REFUSALS;
