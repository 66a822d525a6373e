/**
 * Issue 13, the console's finish, in a real browser: names as typed, a key/value secret changed one
 * key at a time, the phone layout, a clean browser console, page titles, Reveal's time limit, what
 * "last read" means, and an axe-core scan of every page. Screenshots go to test-artifacts/screenshots.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { axeViolations, expectNoSidewaysScroll, launchBrowser, newContext, screenshot, signIn, watchEverything, wrapPoints } from './browser.js';

const CLIENT_ID = 'canary-finish-client-id-51ab';
const OLD_SECRET = 'canary-finish-old-secret-77c1';
const NEW_SECRET = 'canary-finish-new-secret-9e0d';
const TOKEN = 'canary-finish-token-2f6a';
/**
 * The secret page at 390 px with 30 audit events behind it (it lists the newest 20): one card per
 * event made it 4,200 px. Now each event is one row of two lines, at most 50 px, and the page measured
 * 2,560 px. Three sections came after (value per environment, staged rotation, use without holding),
 * kept to a line or two each on a phone: the page then measured 3,270 px, and the bound keeps it there.
 */
const PHONE_ACTIVITY_ROW_MAX_PX = 50;
const PHONE_SECRET_PAGE_MAX_PX = 3400;

describe('console: the newcomer’s path and the finish, in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let booking: { id: string; key: string };

  const pageAt = async (width: number, options: { bypassCSP?: boolean } = {}) => {
    const context = await newContext(browser, h.url, width, options);
    contexts.push(context);
    return context.newPage();
  };
  const signedInPage = async (width = 1280, options: { bypassCSP?: boolean } = {}) => {
    const page = await pageAt(width, options);
    await signIn(page, h.admin.email, h.admin.password);
    await page.waitForURL('**/secrets');
    return page;
  };
  /** Every page behind sign-in: path, a heading that shows it has loaded, a name for its screenshot. */
  const signedInPages = (): ReadonlyArray<readonly [string, string, string]> => [
    ['/secrets', 'Secrets', 'secrets-list'],
    ['/secrets/new', 'Add secret', 'add-secret'],
    ['/secrets/booking_api_token', 'Recent activity', 'secret'],
    ['/agents', 'Agents', 'agents'],
    [`/agents/${booking.id}`, 'Agent keys', 'agent'],
    ['/users', 'Users', 'users'],
    ['/account/password', 'Change password', 'change-password'],
    ['/account/tokens', 'Personal access tokens', 'tokens'],
    ['/settings', 'Settings', 'settings'],
  ];
  const readAs = (key: string, name: string) => h.call('GET', `/runtime/v1/secrets/${name}`, { token: key });
  const grant = (name: string, agents: string[]) => h.call('PUT', `/api/v1/secrets/${name}/access`, { token: h.admin.token, body: { agents } });

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite'), launchBrowser()]);
    booking = await h.agentWithKey(h.admin.token, 'booking');
    await h.agentWithKey(h.admin.token, 'support');
    const create = (body: unknown) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body });
    await create({ name: 'booking_api_token', description: 'Token for the bookings API', value: TOKEN, agents: ['booking'] });
    await create({ name: 'oauth_client', value: { client_id: CLIENT_ID, client_secret: OLD_SECRET }, agents: ['booking'] });
    // 30 audit events on the secret page: its creation, its grant and 28 reads.
    for (let i = 0; i < 28; i++) expect((await readAs(booking.key, 'booking_api_token')).status).toBe(200);
    await h.vault.audit.flush();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    expect(h.logLines.join('\n')).not.toContain(NEW_SECRET);
    await h?.close();
  });

  it('a normal visit leaves the browser console clean, and names every page in its title', async () => {
    const page = await pageAt(1280);
    const problems = watchEverything(page);
    const titles: Record<string, string> = {};
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    titles.signIn = await page.title();
    await signIn(page, h.admin.email, h.admin.password);
    await page.waitForURL('**/secrets');
    await page.getByRole('link', { name: 'booking_api_token' }).waitFor();
    titles.secrets = await page.title();
    expect(await page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents()).toEqual(['Secrets', 'Agents', 'Users']);

    await page.getByRole('link', { name: 'Add secret' }).click();
    await page.getByLabel('Name', { exact: true }).waitFor();
    titles.addSecret = await page.title();
    // Typing a free name, then a taken one: the check asks the list, and says when a name is taken.
    const checked = page.waitForResponse((response) => response.url().includes('/api/v1/secrets?') && response.url().includes('search=stripe_key'));
    await page.getByLabel('Name', { exact: true }).fill('stripe_key');
    await checked;
    await page.getByLabel('Name', { exact: true }).fill('Booking_API_Token');
    await page.getByText('A secret named "Booking_API_Token" already exists').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('');

    await page.goto('/secrets/booking_api_token');
    await page.getByRole('heading', { name: 'Agent access' }).waitFor();
    titles.secret = await page.title();
    await page.goto('/agents');
    await page.getByRole('link', { name: 'booking' }).click();
    await page.getByRole('heading', { name: 'Agent keys' }).waitFor();
    titles.agent = await page.title();
    const tabs = page.getByRole('navigation', { name: 'Sections' });
    await tabs.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
    titles.agents = await page.title();
    await tabs.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    titles.users = await page.title();
    await page.getByRole('link', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Change password' }).waitFor();
    titles.changePassword = await page.title();
    await page.getByRole('banner').getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Personal access tokens', level: 1 }).waitFor();
    titles.tokens = await page.title();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    titles.settings = await page.title();
    // A reload keeps the page (the server serves the console at every console path).
    await page.reload();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.goto('/secrets/a/b');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    titles.notFound = await page.title();

    expect(titles).toEqual({
      signIn: 'Sign in · agent-secrets',
      secrets: 'Secrets · agent-secrets',
      addSecret: 'Add secret · Secrets · agent-secrets',
      secret: 'booking_api_token · Secrets · agent-secrets',
      agent: 'booking · Agents · agent-secrets',
      agents: 'Agents · agent-secrets',
      users: 'Users · agent-secrets',
      changePassword: 'Change password · agent-secrets',
      tokens: 'Personal access tokens · agent-secrets',
      settings: 'Settings · agent-secrets',
      notFound: 'Page not found · agent-secrets',
    });
    expect(problems).toEqual([]);
  });

  it('shows names with underscores exactly as typed, with the underline below them', async () => {
    const page = await signedInPage();
    const link = page.getByRole('link', { name: 'booking_api_token' });
    await link.waitFor();
    const shown = await link.evaluate((element) => {
      const style = getComputedStyle(element);
      return { text: (element as HTMLElement).innerText, line: style.textDecorationLine, offset: parseFloat(style.textUnderlineOffset), size: parseFloat(style.fontSize) };
    });
    expect(shown.text).toBe('booking_api_token');
    // An underscore's stroke sits about 0.1–0.2 em under the baseline: the underline is drawn below it, or not at all.
    if (shown.line.includes('underline')) expect(shown.offset).toBeGreaterThanOrEqual(0.3 * shown.size);
    await link.click();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('booking_api_token');
    await page.goto('/agents');
    await page.getByRole('link', { name: 'booking' }).click();
    const onAgent = page.getByRole('link', { name: 'oauth_client' });
    expect(await onAgent.innerText()).toBe('oauth_client');
    expect(await page.getByText('conv.utils.get_secret("oauth_client")').evaluate((element) => getComputedStyle(element).whiteSpace)).toBe('pre');
  });

  it('suggests a different key name in each new key/value row', async () => {
    const page = await signedInPage();
    await page.goto('/secrets/new');
    await page.getByText('Key/value pairs').click();
    await page.getByRole('button', { name: 'Add key' }).click();
    const placeholders = await Promise.all([1, 2, 3].map((n) => page.getByLabel(`Key ${n}`, { exact: true }).getAttribute('placeholder')));
    expect(placeholders).toEqual(['client_id', 'client_secret', 'audience']);
  });

  it('changes one key of a key/value secret without retyping the others', async () => {
    const page = await signedInPage();
    await page.goto('/secrets/oauth_client');
    await page.getByRole('button', { name: 'Edit value' }).click();
    // Every current key is listed, empty: an empty key keeps its value.
    expect(await page.getByLabel('client_id').inputValue()).toBe('');
    await page.getByLabel('client_secret').fill(NEW_SECRET);
    await page.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Version 2 is now the current value').waitFor();
    const read = await readAs(booking.key, 'oauth_client');
    expect(read.body).toMatchObject({ version: 2, value: { client_id: CLIENT_ID, client_secret: NEW_SECRET } });

    // Removing a key and adding one, in one new version.
    await page.getByRole('button', { name: 'Edit value' }).click();
    await page.getByRole('button', { name: 'Remove client_id' }).click();
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.getByLabel('New key 1', { exact: true }).fill('audience');
    await page.getByLabel('Value of new key 1').fill('bookings');
    await page.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Version 3 is now the current value').waitFor();
    expect((await readAs(booking.key, 'oauth_client')).body.value).toEqual({ client_secret: NEW_SECRET, audience: 'bookings' });

    // Saving with nothing changed is refused before any request.
    await page.getByRole('button', { name: 'Edit value' }).click();
    await page.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Nothing to save').waitFor();
    expect((await h.call('GET', '/api/v1/secrets/oauth_client', { token: h.admin.token })).body.version).toBe(3);

    // Another admin changes a key while this form is open: coming back says so, and saving keeps both changes.
    await h.call('PATCH', '/api/v1/secrets/oauth_client', { token: h.admin.token, body: { valueKeys: { audience: 'partners' } } });
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page.getByText('Version 4 was saved while you edited').waitFor();
    await page.getByLabel('client_secret').fill(`${NEW_SECRET}-2`);
    await page.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Version 5 is now the current value').waitFor();
    expect((await readAs(booking.key, 'oauth_client')).body.value).toEqual({ client_secret: `${NEW_SECRET}-2`, audience: 'partners' });
  });

  it('Reveal shows a value for 30 seconds, counting down, then masks it again', async () => {
    const page = await pageAt(1280);
    await page.clock.install();
    await signIn(page, h.admin.email, h.admin.password);
    await page.goto('/secrets/booking_api_token');
    await page.getByRole('button', { name: 'Reveal', exact: true }).click();
    await page.getByText(TOKEN).waitFor();
    await page.getByText('Hides again in 30 s').waitFor();
    await page.clock.fastForward(10_000);
    await page.getByText('Hides again in 20 s').waitFor();
    await page.clock.fastForward(21_000);
    await page.getByRole('button', { name: 'Reveal', exact: true }).waitFor();
    expect(await page.getByText(TOKEN).count()).toBe(0);
  });

  it('says which "last read" it means, and refreshes when the page regains focus', async () => {
    // A revoke and a re-grant: the secret was read (by some agent), the new grant was not yet.
    await grant('booking_api_token', []);
    await grant('booking_api_token', ['booking']);
    const page = await signedInPage();
    const row = page.getByRole('row', { name: /booking_api_token/ });
    await row.waitFor();
    expect(await page.getByRole('columnheader', { name: 'Last read by any agent' }).count()).toBe(1);
    expect(await row.getByRole('cell').last().innerText()).toBe('just now');
    await page.goto('/secrets/booking_api_token');
    const access = page.getByRole('region', { name: 'Agent access' });
    await access.getByText('Read since granted: not yet').waitFor();
    await page.getByText('Last read by any agent').waitFor();

    // The agent reads while the admin is elsewhere; coming back shows it without Refresh.
    expect((await readAs(booking.key, 'booking_api_token')).status).toBe(200);
    await h.vault.audit.flush();
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await access.getByText('Read since granted: just now').waitFor();
  });

  it('at 390 px: no sideways scroll, a compact secret page, and who is signed in stays visible', async () => {
    const page = await signedInPage(390);
    for (const [path, heading, name] of [...signedInPages(), ['/secrets/oauth_client', 'Agent access', 'secret-kv'] as const]) {
      await page.goto(path);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await expectNoSidewaysScroll(page);
      expect(await page.getByText(h.admin.email, { exact: true }).first().isVisible()).toBe(true);
      expect(await page.locator('.who-account').isVisible()).toBe(true);
      await screenshot(page, `finish-390-${name}`);
    }
    await page.goto('/secrets/booking_api_token');
    await page.getByRole('region', { name: 'Recent activity' }).getByRole('row').nth(20).waitFor();
    // Emails wrap, if at all, before their "@"; names never wrap.
    const emails = await wrapPoints(page, '.person');
    expect(emails.length).toBeGreaterThan(2);
    for (const email of emails) for (const rest of email.breaksBefore) expect(rest, `${email.text} wraps mid-word`).toMatch(/^@/);
    for (const name of await wrapPoints(page, '.secret-title, .secret-name, .key-chip')) expect(name.breaksBefore, `${name.text} wraps`).toEqual([]);
    const height = await page.evaluate(() => (document.scrollingElement ?? document.documentElement).scrollHeight);
    expect(height).toBeLessThanOrEqual(PHONE_SECRET_PAGE_MAX_PX);
    const rows = await page
      .getByRole('region', { name: 'Recent activity' })
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => ({ height: tr.getBoundingClientRect().height, text: (tr as HTMLElement).innerText.replace(/\s+/g, ' ') })));
    expect(rows).toHaveLength(20);
    for (const row of rows) expect(row.height, row.text).toBeLessThanOrEqual(PHONE_ACTIVITY_ROW_MAX_PX);
  });

  it('at 1280 px the top bar is one line for an admin, the person with the most buttons, with the brand, tabs and person side by side', async () => {
    const page = await signedInPage(1280);
    const boxes = await page.evaluate(() =>
      ['.brand', '.tabs', '.who'].map((selector) => {
        const box = document.querySelector(selector)?.getBoundingClientRect();
        return { selector, top: Math.round(box?.top ?? -1), height: Math.round(box?.height ?? -1), width: Math.round(box?.width ?? -1) };
      }),
    );
    const bar = await page.locator('.top-bar').evaluate((element) => element.getBoundingClientRect().height);
    expect(bar, JSON.stringify(boxes)).toBeLessThanOrEqual(64);
    const middles = boxes.map((box) => box.top + box.height / 2);
    expect(Math.max(...middles) - Math.min(...middles), JSON.stringify(boxes)).toBeLessThanOrEqual(8);
  });

  // One test per width: each scans ten pages, well inside the suite's 30 s per test on a busy machine.
  it.each([1280, 390])('axe-core finds no accessibility violation on any page at %i px', async (width) => {
    const found: string[] = [];
    const page = await pageAt(width, { bypassCSP: true });
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    for (const violation of await axeViolations(page)) found.push(`sign-in: ${violation}`);
    if (width === 1280) await screenshot(page, 'finish-1280-sign-in');
    await signIn(page, h.admin.email, h.admin.password);
    for (const [path, heading, name] of signedInPages()) {
      await page.goto(path);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      for (const violation of await axeViolations(page)) found.push(`${path}: ${violation}`);
      if (width === 1280) await screenshot(page, `finish-1280-${name}`);
    }
    expect(found).toEqual([]);
    // The scan sees what it should: an image without a text alternative is a violation.
    await page.evaluate(() => document.querySelector('main')?.append(Object.assign(document.createElement('img'), { src: '/favicon.svg' })));
    expect((await axeViolations(page)).join('\n')).toContain('image-alt');
  });

  it('the Users page says what a member can do, in the account’s one word', async () => {
    const page = await signedInPage();
    await page.goto('/users');
    const lead = await page.locator('.lead').innerText();
    expect(lead).toContain('Members can see which agents the account has');
    expect(lead).not.toMatch(/members build agents|workspace/i);
  });
});
