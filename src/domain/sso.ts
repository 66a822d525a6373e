/**
 * The rules of single sign-on (SPEC S29) that need no I/O: what an allowed email domain looks like,
 * where a sign-in may return to, and the plain words a refusal is told in. Free of any framework, so
 * the console imports it too; the request schema is in ssoSettings.ts.
 */

export const DOMAIN_RULE = 'a lower-case domain name such as example.com (letters, digits and hyphens, labels separated by dots)';
// Lower case only: the product compares domains as it stores them, and a lookalike in upper case or
// with a trailing dot would otherwise be a second, different entry for the same place.
export const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

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
