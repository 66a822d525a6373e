/**
 * SPEC S17 in the console: a person's own personal access tokens, on the Tokens page reached from the
 * top bar — created and shown once, used with the real API, revoked at once (401 from the next call),
 * without the session that revoked them ever being signed out.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { axeViolations, expectNoSidewaysScroll, launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

const MEMBER = { email: 'token.member@example.com', password: 'token-member-password-1' };
const LAPTOP = 'canary-tokens-laptop-7d3e';
const SCRIPT = 'canary-tokens-deploy-script-41b9';

describe('console: personal access tokens in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Every token the page showed, for the log check at the end. */
  const shown: string[] = [];

  const pageFor = async (width = 1280, options: { bypassCSP?: boolean } = {}): Promise<{ page: Page; problems: string[] }> => {
    const context = await newContext(browser, h.url, width, options);
    contexts.push(context);
    const page = await context.newPage();
    return { page, problems: watchConsole(page) };
  };
  const sessionWith = (token: string) => h.call('GET', '/api/v1/auth/session', { token });
  /** Creates a token on the page and reads it off the shown-once notice. */
  const createOnPage = async (page: Page, name: string): Promise<string> => {
    await page.getByLabel('Token name').fill(name);
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(`Copy token “${name}” now — it will not be shown again`).waitFor();
    const token = ((await page.locator('.one-time-token').textContent()) ?? '').trim();
    expect(token).toMatch(/^asp_/);
    shown.push(token);
    return token;
  };

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite'), launchBrowser()]);
    const member = await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: MEMBER.email, role: 'member', password: MEMBER.password } });
    expect(member.status).toBe(201);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    const logs = h.logLines.join('\n');
    for (const token of shown) expect(logs).not.toContain(token);
    await h?.close();
  });

  it('a member opens Tokens from the top bar, creates a token shown once, uses it with the API, and revokes it', async () => {
    const { page, problems } = await pageFor();
    await signIn(page, MEMBER.email, MEMBER.password);
    await page.waitForURL('**/agents');
    await page.getByRole('banner').getByRole('link', { name: 'Tokens' }).click();
    await page.waitForURL('**/account/tokens');
    await page.getByRole('heading', { name: 'Personal access tokens', level: 1 }).waitFor();
    expect(await page.title()).toBe('Personal access tokens · agent-secrets');
    expect(await page.getByRole('banner').getByRole('link', { name: 'Tokens' }).getAttribute('aria-current')).toBe('page');

    // None yet: the page says what a token is for, with a command a member can run.
    const empty = page.getByRole('region', { name: 'No tokens yet' });
    await empty.getByText('export AGENT_SECRETS_TOKEN=asp_…').waitFor();
    expect(await empty.innerText()).toContain('npx agent-secrets agents list');
    await screenshot(page, 'tokens-empty');

    // A bad name: the API's own message, beside the field.
    const refused = await h.call('POST', '/api/v1/tokens', { token: h.admin.token, body: { name: '   ' } });
    expect(refused.status).toBe(400);
    await page.getByLabel('Token name').fill('   ');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('.field-error').getByText(refused.body.error.message, { exact: true }).waitFor();
    expect(await page.getByLabel('Token name').getAttribute('aria-invalid')).toBe('true');

    // Created: shown once, copied, and it works with the real API as this member.
    const laptop = await createOnPage(page, LAPTOP);
    expect(await page.locator('.field-error').count()).toBe(0);
    await page.getByRole('button', { name: 'Copy token' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(laptop);
    await page.evaluate(() => navigator.clipboard.writeText(''));
    const asMember = await sessionWith(laptop);
    expect(asMember.status).toBe(200);
    expect(asMember.body.user.email).toBe(MEMBER.email);
    await page.getByRole('row', { name: new RegExp(LAPTOP) }).getByText('active').waitFor();
    await screenshot(page, 'tokens-created');

    // Dismissed, it is gone from the page.
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByText('it will not be shown again').waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(laptop);

    // Shown, then the person leaves the page: it is gone when they come back.
    const script = await createOnPage(page, SCRIPT);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    expect(await page.content()).not.toContain(script);
    await page.getByRole('banner').getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('row', { name: new RegExp(SCRIPT) }).waitFor();
    expect(await page.content()).not.toContain(script);
    // Newest first.
    expect(await page.locator('tbody td[data-label="Name"]').allInnerTexts()).toEqual([SCRIPT, LAPTOP]);

    // Revoked after a second click in place: the next call with it answers 401, the other token and the session go on.
    await page.getByRole('button', { name: `Revoke token ${LAPTOP}` }).click();
    await page.getByRole('button', { name: `Revoke ${LAPTOP}` }).click();
    await page.getByText(`Token “${LAPTOP}” revoked`).waitFor();
    await page.getByRole('row', { name: new RegExp(LAPTOP) }).getByText(/^revoked/).waitFor();
    expect(await page.getByRole('button', { name: `Revoke token ${LAPTOP}` }).count()).toBe(0);
    expect((await sessionWith(laptop)).status).toBe(401);
    expect((await h.call('GET', '/api/v1/agents', { token: laptop })).status).toBe(401);
    expect((await sessionWith(script)).status).toBe(200);
    await page.reload();
    await page.getByRole('heading', { name: 'Personal access tokens', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await page.getByRole('row', { name: new RegExp(SCRIPT) }).getByText('active').count()).toBe(1);
    await screenshot(page, 'tokens-revoked');

    // Only their own: the admin's list does not show the member's tokens.
    const adminList = await h.call('GET', '/api/v1/tokens', { token: h.admin.token });
    expect(JSON.stringify(adminList.body)).not.toContain(LAPTOP);
    expect(problems).toEqual([]);
  });

  it('at 390 px the empty state and the shown-once token fit, with no sideways scroll and no accessibility violation', async () => {
    const phone = { email: 'token.phone@example.com', password: 'token-phone-password-1' };
    expect((await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { ...phone, role: 'member' } })).status).toBe(201);
    const { page, problems } = await pageFor(390, { bypassCSP: true });
    await signIn(page, phone.email, phone.password);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'No tokens yet' }).waitFor();
    await expectNoSidewaysScroll(page);
    expect(await axeViolations(page)).toEqual([]);
    await createOnPage(page, 'canary-tokens-phone-c0de');
    await expectNoSidewaysScroll(page);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'tokens-390-created');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByText('it will not be shown again').waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
  });

  it('a session that may only change its password is offered no Tokens page, and the API refuses it', async () => {
    const added = await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: 'token.newcomer@example.com', role: 'member' } });
    expect(added.status).toBe(201);
    const { page, problems } = await pageFor();
    await signIn(page, 'token.newcomer@example.com', added.body.password);
    await page.waitForURL('**/account/password');
    expect(await page.getByRole('link', { name: 'Tokens' }).count()).toBe(0);
    await page.goto('/account/tokens');
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    expect(page.url()).toMatch(/\/account\/password$/);
    const refused = await page.evaluate(async () => {
      const response = await fetch('/api/v1/tokens');
      return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
    });
    expect(refused).toEqual({ status: 403, code: 'password_change_required' });
    expect(problems).toEqual([]);
  });
});
