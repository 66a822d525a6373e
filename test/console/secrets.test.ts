import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

// Canary values: they must reach the agent and the admin who reveals them, and nowhere else.
const CLIENT_ID = 'canary-client-id-7f3a91';
const CLIENT_SECRET = 'canary-client-secret-c0ffee42';
const NEW_SECRET = 'canary-rotated-secret-b16b00b5';

describe('console: an admin manages a secret and its agent access in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  const requestedUrls: string[] = [];
  let booking: { id: string; name: string; key: string };

  const readAs = (key: string, name: string) => h.call('GET', `/runtime/v1/secrets/${name}`, { token: key });

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite'), launchBrowser()]);
    booking = await h.agentWithKey(h.admin.token, 'Booking agent');
    await h.agentWithKey(h.admin.token, 'Support agent');
    context = await newContext(browser, h.url);
    page = await context.newPage();
    problems = watchConsole(page);
    page.on('request', (request) => requestedUrls.push(request.url()));
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  it('serves the console with a strict CSP and shows the sign-in page', async () => {
    const response = await page.goto('/');
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(response?.headers()['content-security-policy']).toContain("style-src 'self'");
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, '01-sign-in');
  });

  it('signs the admin in to an empty Secrets tab that explains secrets and offers Add secret', async () => {
    await signIn(page, h.admin.email, h.admin.password);
    await page.waitForURL('**/secrets');
    const tabs = page.getByRole('navigation', { name: 'Sections' }).getByRole('link');
    expect(await tabs.allTextContents()).toEqual(['Secrets', 'Agents', 'Users']);
    await page.getByRole('heading', { name: 'No secrets yet' }).waitFor();
    await screenshot(page, '02-secrets-empty');
  });

  it('adds a key/value secret granted to agent A, and A reads it at run time', async () => {
    await page.getByRole('link', { name: 'Add secret' }).click();
    await page.waitForURL('**/secrets/new');
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('Booking API');
    // Live validation: the rule is told at once, with the suggested form one click away.
    await page.getByText('Use only letters, digits').waitFor();
    await page.getByRole('button', { name: 'Use booking_api' }).click();
    expect(await name.inputValue()).toBe('booking_api');
    expect(await page.getByText('Use only letters, digits').count()).toBe(0);

    await page.getByLabel('Description (optional)').fill('Reservations API credentials');
    await page.getByText('Key/value pairs').click();
    await page.getByLabel('Key 1', { exact: true }).fill('client_id');
    await page.getByLabel('Value of key 1').fill(CLIENT_ID);
    await page.getByLabel('Key 2', { exact: true }).fill('client_secret');
    await page.getByLabel('Value of key 2').fill(CLIENT_SECRET);
    await page.getByRole('checkbox', { name: 'Booking agent' }).check();
    await screenshot(page, '03-add-secret');
    await page.getByRole('button', { name: 'Add secret' }).click();

    await page.waitForURL('**/secrets/booking_api');
    await page.getByText('Secret "booking_api" added and granted to 1 agent.').waitFor();
    const read = await readAs(booking.key, 'booking_api');
    expect(read.status).toBe(200);
    expect(read.body.value).toEqual({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
  });

  it('keeps the value masked until Reveal (audited), and forgets it on Hide', async () => {
    // The default value's section; each environment below it has a masked value of its own.
    const value = page.getByRole('region', { name: 'Value', exact: true });
    const valueBox = value.locator('.value-box');
    expect(await valueBox.textContent()).not.toContain(CLIENT_SECRET);
    await value.getByRole('button', { name: 'Reveal', exact: true }).click();
    await page.getByText(CLIENT_SECRET).waitFor();
    await value.getByRole('button', { name: 'Hide' }).click();
    await value.getByRole('button', { name: 'Reveal', exact: true }).waitFor();
    expect(await page.content()).not.toContain(CLIENT_SECRET);

    // Press and hold shows it only while held.
    const hold = value.getByRole('button', { name: 'Hold to reveal' });
    await hold.hover();
    await page.mouse.down();
    await page.getByText(CLIENT_ID).waitFor();
    await page.mouse.up();
    await page.getByText(CLIENT_ID).waitFor({ state: 'detached' });

    await value.getByRole('button', { name: 'Copy client_secret' }).click();
    await page.getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(CLIENT_SECRET);
    await page.evaluate(() => navigator.clipboard.writeText(''));

    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.getByRole('cell', { name: 'Value revealed' }).count()).toBeGreaterThanOrEqual(3);
  });

  it('unchecking A and saving holds from A\'s very next read (MissingAccess)', async () => {
    const access = page.getByRole('region', { name: 'Agent access' });
    const box = access.getByRole('checkbox', { name: 'Booking agent' });
    expect(await box.isChecked()).toBe(true);
    await box.uncheck();
    await access.getByText('Unsaved changes').waitFor();
    await access.getByText('will lose access').waitFor();
    await screenshot(page, '04-agent-access-unsaved');
    await access.getByRole('button', { name: 'Save' }).click();
    await access.getByText('Saved — in effect now').waitFor();

    const read = await readAs(booking.key, 'booking_api');
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('MissingAccess');
  });

  it('warns before leaving with unsaved access changes', async () => {
    const access = page.getByRole('region', { name: 'Agent access' });
    await access.getByRole('checkbox', { name: 'Support agent' }).check();
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.dismiss();
    });
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Agents' }).click();
    expect(asked).toContain('unsaved changes');
    expect(page.url()).toContain('/secrets/booking_api');
    await access.getByRole('button', { name: 'Discard changes' }).click();
    await access.getByRole('button', { name: 'Save' }).waitFor();
    expect(await access.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
  });

  it('a new value is a new version; after re-granting, A\'s next read gets it', async () => {
    await page.getByRole('button', { name: 'Edit value' }).click();
    // Replacing the whole value (finish.test.ts changes one key): key names are kept, values typed afresh.
    await page.getByRole('button', { name: 'Replace the whole value instead' }).click();
    expect(await page.getByLabel('Key 2', { exact: true }).inputValue()).toBe('client_secret');
    await page.getByLabel('Value of key 1').fill(CLIENT_ID);
    await page.getByLabel('Value of key 2').fill(NEW_SECRET);
    await page.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Version 2 is now the current value').waitFor();

    const access = page.getByRole('region', { name: 'Agent access' });
    await access.getByRole('checkbox', { name: 'Booking agent' }).check();
    await access.getByRole('button', { name: 'Save' }).click();
    await access.getByText('Saved — in effect now').waitFor();

    const read = await readAs(booking.key, 'booking_api');
    expect(read.status).toBe(200);
    expect(read.body.version).toBe(2);
    expect(read.body.value).toEqual({ client_id: CLIENT_ID, client_secret: NEW_SECRET });

    const versions = page.getByRole('region', { name: 'Versions' });
    await versions.getByText('current').waitFor();
    expect(await versions.getByRole('button', { name: 'Restore version 1' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('cell', { name: 'Read by agent' }).first().waitFor();
    await screenshot(page, '05-secret-page');
  });

  it('restores an old version as a new one', async () => {
    const versions = page.getByRole('region', { name: 'Versions' });
    await versions.getByRole('button', { name: 'Restore version 1' }).click();
    await versions.getByRole('button', { name: 'Restore v1' }).click();
    await page.getByText('Version 1 restored as version 3').waitFor();
    const read = await readAs(booking.key, 'booking_api');
    expect(read.body).toMatchObject({ version: 3, value: { client_secret: CLIENT_SECRET } });
  });

  it('shows a server refusal beside the field it names (an agent deleted while the form was open)', async () => {
    await page.goto('/secrets/new');
    await page.getByLabel('Name', { exact: true }).fill('orders_api_key');
    await page.getByLabel('Secret value').fill('canary-orders-1');
    await page.getByRole('checkbox', { name: 'Support agent' }).check();
    const deleted = await h.call('DELETE', '/api/v1/agents/Support agent'.replace(' ', '%20'), { token: h.admin.token });
    expect(deleted.status).toBe(204);
    await page.getByRole('button', { name: 'Add secret' }).click();
    const picker = page.getByRole('group', { name: 'Agents that may read it' });
    await picker.locator('.field-error').waitFor();
    expect(await picker.locator('.field-error').textContent()).toMatch(/agent/i);
    expect((await h.call('GET', '/api/v1/secrets/orders_api_key', { token: h.admin.token })).status).toBe(404);

    // A name that is taken is told while typing.
    await page.getByLabel('Name', { exact: true }).fill('BOOKING_API');
    await page.getByText('already exists').waitFor();
  });

  it('lists secrets with search and keyset paging', async () => {
    // Leaving the half-filled form asks first.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('link', { name: 'Secrets', exact: true }).first().click();
    await page.waitForURL('**/secrets');
    // Sixty more secrets, for paging.
    const created = await Promise.all(
      Array.from({ length: 60 }, (_, i) => h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: `service_${String(i).padStart(2, '0')}_token`, value: `canary-bulk-${i}` } })),
    );
    expect(created.every((answer) => answer.status === 201)).toBe(true);
    await page.reload();
    await page.getByText('1–50 of 61').waitFor();
    const row = page.getByRole('row').filter({ hasText: 'booking_api' });
    expect(await row.textContent()).toContain('client_secret');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('51–61 of 61').waitFor();
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('1–50 of 61').waitFor();
    await page.getByLabel('Search secrets by name').fill('BOOK');
    await page.getByText('1–1 of 1').waitFor();
    await screenshot(page, '06-secrets-list-search');
    await page.getByLabel('Search secrets by name').fill('');
    await page.getByText('1–50 of 61').waitFor();
    await screenshot(page, '07-secrets-list');
  });

  it('deletes a secret only after its name is typed; the agent then gets SecretNotFound', async () => {
    await page.getByRole('link', { name: 'booking_api' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    const confirm = page.getByRole('button', { name: 'Delete secret' });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel('Type "booking_api" to confirm').fill('booking_ap');
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel('Type "booking_api" to confirm').fill('booking_api');
    await confirm.click();
    await page.getByText('Secret "booking_api" deleted.').waitFor();
    const read = await readAs(booking.key, 'booking_api');
    expect(read.status).toBe(404);
    expect(read.body.error.code).toBe('SecretNotFound');
  });

  it('refuses a cookie-authenticated write without the CSRF header, and writes nothing', async () => {
    const attempts = await page.evaluate(async () => {
      const post = (headers: Record<string, string>) =>
        fetch('/api/v1/secrets', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'forged_secret', value: 'canary-forged' }) }).then(
          async (response) => ({ status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }),
        );
      return [await post({}), await post({ 'x-csrf-token': 'not-the-token' })];
    });
    expect(attempts).toEqual([
      { status: 403, code: 'csrf_failed' },
      { status: 403, code: 'csrf_failed' },
    ]);
    expect((await h.call('GET', '/api/v1/secrets/forged_secret', { token: h.admin.token })).status).toBe(404);
  });

  it('keeps no value in browser storage, cookies readable by scripts, URLs or server logs', async () => {
    const kept = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookies: document.cookie,
    }));
    expect(kept).toEqual({ local: '{}', session: '{}', cookies: '' });
    const session = (await context.cookies()).find((cookie) => cookie.name === 'agent_secrets_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    for (const canary of [CLIENT_ID, CLIENT_SECRET, NEW_SECRET]) {
      expect(requestedUrls.join('\n')).not.toContain(canary);
      expect(h.logLines.join('\n')).not.toContain(canary);
    }
    expect(problems).toEqual([]);
  });
});
