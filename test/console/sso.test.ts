import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { signInAtIdp, startTestIdp, type TestIdp } from '../support/oidcProvider.js';
import { axeViolations, launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

const CLIENT_SECRET = `canary-console-sso-${randomBytes(9).toString('base64url')}`;

describe('console: single sign-on in a real browser against a real OpenID provider', () => {
  let h: Harness;
  let idp: TestIdp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const pageFor = async (): Promise<{ page: Page; problems: string[] }> => {
    const context = await newContext(browser, h.url);
    contexts.push(context);
    const page = await context.newPage();
    return { page, problems: watchConsole(page) };
  };

  /** The person's way: the sign-in page, "Sign in with SSO", the provider's page, and back. */
  async function signInWithSso(page: Page, who: { email?: string; account?: string }, login: string): Promise<void> {
    // The provider would remember the last person signed in there and skip its page: a fresh start.
    await page.context().clearCookies();
    await page.goto('/');
    if (who.account !== undefined) {
      await page.getByRole('button', { name: 'Use an account name instead' }).click();
      await page.getByLabel('Account name').fill(who.account);
    } else {
      await page.getByLabel('Email').fill(who.email ?? '');
    }
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'Sign in to the test identity provider' }).waitFor();
    await page.getByLabel('Login').fill(login);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite', { sso: { allowInsecureIssuer: true, allowPrivateIssuer: true } }), launchBrowser()]);
    idp = await startTestIdp([{ clientId: 'console', clientSecret: CLIENT_SECRET, redirectUri: `${h.url}/api/v1/auth/sso/callback` }], {
      admin: { email: 'admin@example.com', emailVerified: true },
      newcomer: { email: 'newcomer@example.com', emailVerified: true },
      stranger: { email: 'someone@elsewhere.test', emailVerified: true },
    });
    const saved = await h.call('PUT', '/api/v1/settings/sso', {
      token: h.admin.token,
      body: { issuer: idp.issuer, clientId: 'console', clientSecret: CLIENT_SECRET, allowedDomains: ['example.com'], jitRole: 'member', passwordSignIn: true },
    });
    expect(saved.status).toBe(200);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await idp?.close();
    await h?.close();
  });

  it('an admin signs in with SSO end to end and lands signed in on the page they asked for', async () => {
    const { page, problems } = await pageFor();
    await page.goto('/users');
    await screenshot(page, '60-sign-in-with-sso');
    await page.getByLabel('Email').fill('admin@example.com');
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.getByLabel('Login').fill('admin');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.waitForURL('**/users');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('a first sign-in makes a member (JIT), who sees no Settings', async () => {
    const { page } = await pageFor();
    await signInWithSso(page, { email: 'newcomer@example.com' }, 'newcomer');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByText('newcomer@example.com').waitFor();
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    const users = await h.call('GET', '/api/v1/users', { token: h.admin.token });
    expect(users.body.users.find((user: { email: string }) => user.email === 'newcomer@example.com')?.role).toBe('member');
  });

  it('a disallowed domain, a forged state, a replayed code, another audience and an expired token come back in plain words', async () => {
    const { page, problems } = await pageFor();
    await signInWithSso(page, { account: 'default' }, 'stranger');
    await page.getByText('Your email address is not in a domain this account allows for single sign-on.').waitFor();
    expect(page.url()).toBe(`${h.url}/`);
    await screenshot(page, '61-sso-refused-domain');

    // A forged state: someone else's sign-in answer, opened by this browser in the middle of its own
    // sign-in (login CSRF). The flow cookie is this browser's; the state in the answer is not its flow's.
    const elsewhere = await fetch(`${h.url}/api/v1/auth/sso/start?account=default`, { redirect: 'manual' });
    const foreignAnswer = await signInAtIdp(elsewhere.headers.get('location') ?? '', 'admin');
    await page.context().clearCookies();
    await page.goto('/');
    await page.getByLabel('Email').fill('admin@example.com');
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'Sign in to the test identity provider' }).waitFor();
    await page.goto(foreignAnswer.href);
    await page.getByText('The answer from your identity provider could not be verified').waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);

    // A replayed code: the same answer opened again after signing out.
    let callback = '';
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/auth/sso/callback?')) callback = request.url();
    });
    await signInWithSso(page, { email: 'admin@example.com' }, 'admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(callback);
    await page.getByText('That sign-in has already been used or has expired.').waitFor();

    for (const tamper of [(claims: Record<string, unknown>) => ({ ...claims, aud: 'another-client' }), (claims: Record<string, unknown>) => ({ ...claims, exp: Math.floor(Date.now() / 1000) - 600 })]) {
      idp.tamperIdToken = tamper;
      try {
        await signInWithSso(page, { email: 'admin@example.com' }, 'admin');
        await page.getByText('The answer from your identity provider could not be verified').waitFor();
        expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      } finally {
        idp.tamperIdToken = undefined;
      }
    }
    expect(problems).toEqual([]);
  });

  it('the sign-in page with a refusal, and the Settings page, pass an axe-core scan', async () => {
    // The console's CSP refuses injected scripts: this context alone lets axe in.
    const context = await browser.newContext({ baseURL: h.url, bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto('/?sso_error=email_not_allowed');
    await page.getByText('Your email address is not in a domain this account allows').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await signInWithSso(page, { email: 'admin@example.com' }, 'admin');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Single sign-on (OpenID Connect)' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
  });

  it('the Settings page: the secret is never shown, passwords go off only after an SSO sign-in, and password sign-in is then refused', async () => {
    const { page: byPassword } = await pageFor();
    const password = await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: 'second.admin@example.com', role: 'admin', password: 'second-admin-password-1' } });
    expect(password.status).toBe(201);
    await signIn(byPassword, 'second.admin@example.com', 'second-admin-password-1');
    await byPassword.getByRole('link', { name: 'Settings' }).click();
    await byPassword.getByRole('heading', { name: 'Single sign-on (OpenID Connect)' }).waitFor();
    expect(await byPassword.getByLabel('Issuer URL').inputValue()).toBe(idp.issuer);
    expect(await byPassword.getByLabel('Client secret').inputValue()).toBe('');
    expect(await byPassword.content()).not.toContain(CLIENT_SECRET);
    await byPassword.getByRole('checkbox', { name: 'Allow password sign-in for this account' }).uncheck();
    await byPassword.getByRole('button', { name: 'Save' }).click();
    await byPassword.getByText('first sign in with “Sign in with SSO” through this configuration').waitFor();

    const { page, problems } = await pageFor();
    await signInWithSso(page, { email: 'admin@example.com' }, 'admin');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('You signed in with SSO through these settings').waitFor();
    await screenshot(page, '62-sso-settings');
    await page.getByRole('checkbox', { name: 'Allow password sign-in for this account' }).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Single sign-on settings saved.').waitFor();

    const { page: later } = await pageFor();
    await later.goto('/');
    await later.getByLabel('Email').fill('second.admin@example.com');
    await later.getByLabel('Password').fill('second-admin-password-1');
    await later.getByRole('button', { name: 'Sign in', exact: true }).click();
    await later.getByText('Password sign-in is turned off for this account').waitFor();

    await page.getByRole('checkbox', { name: 'Allow password sign-in for this account' }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Single sign-on settings saved.').waitFor();
    expect(problems).toEqual([]);
    expect(h.logLines.join('\n')).not.toContain(CLIENT_SECRET);
  });
});
