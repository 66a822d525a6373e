import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { expectNoSidewaysScroll, launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

const MEMBER = { email: 'member@example.com', password: 'member-password-1234' };
const VALUE = 'canary-voice-token-5ca1ab1e';

describe('console: agents, users, members and narrow screens in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const pageFor = async (width = 1280): Promise<{ page: Page; problems: string[] }> => {
    const context = await newContext(browser, h.url, width);
    contexts.push(context);
    const page = await context.newPage();
    return { page, problems: watchConsole(page) };
  };

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite'), launchBrowser()]);
    const member = await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: MEMBER.email, role: 'member', password: MEMBER.password } });
    expect(member.status).toBe(201);
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await h?.close();
  });

  it('a member sees no Secrets tab, /secrets refuses them, and the API behind it answers 403', async () => {
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'voice_api_token', value: VALUE } });
    const { page, problems } = await pageFor();
    const secretCalls: string[] = [];
    page.on('request', (request) => request.url().includes('/api/v1/secrets') && secretCalls.push(request.url()));
    await signIn(page, MEMBER.email, MEMBER.password);
    await page.waitForURL('**/agents');
    const tabs = page.getByRole('navigation', { name: 'Sections' }).getByRole('link');
    expect(await tabs.allTextContents()).toEqual(['Agents', 'Users']);

    await page.goto('/secrets');
    await page.getByRole('heading', { name: 'Secrets are not available to you' }).waitFor();
    await page.getByText(/^Only admins of the account “.+” can see and manage secrets\./).waitFor();
    await page.goto('/secrets/voice_api_token');
    await page.getByRole('heading', { name: 'Secrets are not available to you' }).waitFor();
    expect(await page.content()).not.toContain('voice_api_token</');
    expect(secretCalls).toEqual([]);
    await screenshot(page, '20-member-secrets-refused');

    // Even with the member's own valid CSRF token, the API refuses them.
    const behind = await page.evaluate(async () => {
      const { csrfToken } = (await (await fetch('/api/v1/auth/session')).json()) as { csrfToken: string };
      const list = await fetch('/api/v1/secrets');
      const reveal = await fetch('/api/v1/secrets/voice_api_token/reveal', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: '{}' });
      return { list: { status: list.status, body: await list.text() }, reveal: { status: reveal.status, body: await reveal.text() } };
    });
    expect(behind.list.status).toBe(403);
    expect(JSON.parse(behind.list.body).error.code).toBe('admin_required');
    expect(behind.reveal.status).toBe(403);
    expect(JSON.parse(behind.reveal.body).error.code).toBe('admin_required');
    expect(behind.list.body + behind.reveal.body).not.toContain(VALUE);

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByText('Only admins of this account can add users').waitFor();
    expect(await page.content()).not.toContain(VALUE);
    expect(problems).toEqual([]);
  });

  it('an admin of an account without the vault sees no Secrets tab and is told why', async () => {
    const other = await h.vault.accounts.createAccount('novault', 'admin@novault.example.com', 'novault-password-123');
    await h.vault.accounts.setVault('novault', false);
    const { page } = await pageFor();
    await signIn(page, other.email, 'novault-password-123');
    const tabs = page.getByRole('navigation', { name: 'Sections' }).getByRole('link');
    expect(await tabs.allTextContents()).toEqual(['Agents', 'Users']);
    await page.goto('/secrets');
    await page.getByText('The Secrets vault is not enabled for the account “novault”').waitFor();
  });

  it('an admin creates and renames an agent, creates a key shown once, and revokes it', async () => {
    const { page, problems } = await pageFor();
    await signIn(page, h.admin.email, h.admin.password);
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('New agent name').fill('Voice agent');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByText('Agent "Voice agent" created.').waitFor();

    await page.getByLabel('Agent name').fill('Front desk');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Front desk' }).waitFor();

    await page.getByLabel('Key name (optional)').fill('production');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('it will not be shown again').waitFor();
    const key = (await page.locator('.one-time-key').textContent()) ?? '';
    expect(key.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Copy key' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await page.evaluate(() => navigator.clipboard.writeText(''));

    // The key works at run time; granting a secret shows it with a ready-to-paste snippet.
    expect((await h.call('GET', '/runtime/v1/secrets', { token: key })).status).toBe(200);
    await h.call('PUT', '/api/v1/secrets/voice_api_token/access', { token: h.admin.token, body: { agents: ['Front desk'] } });
    await page.reload();
    const readable = page.getByRole('region', { name: 'Secrets this agent can read' });
    await readable.getByText('conv.utils.get_secret("voice_api_token")').waitFor();
    await readable.getByRole('button', { name: 'Copy snippet for voice_api_token' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('conv.utils.get_secret("voice_api_token")');
    // The key is gone after a reload: it was shown once.
    expect(await page.content()).not.toContain(key);
    await screenshot(page, '21-agent-page');

    await page.getByRole('button', { name: 'Revoke key production' }).click();
    await page.getByRole('button', { name: 'Revoke production' }).click();
    await page.getByText('revoked').waitFor();
    expect((await h.call('GET', '/runtime/v1/secrets', { token: key })).status).toBe(401);
    expect(h.logLines.join('\n')).not.toContain(key);
    expect(problems).toEqual([]);
  });

  it('an admin adds a user with a role, changes roles, and can never remove themself', async () => {
    const { page, problems } = await pageFor();
    await signIn(page, h.admin.email, h.admin.password);
    await page.getByRole('link', { name: 'Users' }).click();
    const add = page.getByRole('region', { name: 'Add user' });
    await add.getByLabel('Email').fill('new.admin@example.com');
    await add.getByLabel('Role').selectOption('admin');
    await add.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('One-time password for new.admin@example.com').waitFor();
    await page.getByText('new.admin@example.com added.').waitFor();

    await page.getByLabel(`Role of ${MEMBER.email}`).selectOption('admin');
    await page.getByRole('button', { name: 'Save role' }).click();
    await page.getByText(`${MEMBER.email} is now an admin.`).waitFor();
    const users = (await h.call('GET', '/api/v1/users', { token: h.admin.token })).body.users as { email: string; role: string }[];
    expect(users.find((user) => user.email === MEMBER.email)?.role).toBe('admin');

    expect(await page.getByRole('button', { name: `Remove ${h.admin.email}` }).count()).toBe(0);
    expect(await page.getByLabel(`Role of ${h.admin.email}`).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Remove new.admin@example.com' }).click();
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByText('new.admin@example.com removed.').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await screenshot(page, '22-users');
    expect(problems).toEqual([]);
  });

  it('an admin resets a password on the Users tab; it signs in once, straight to choosing a password, and nothing else works until then', async () => {
    const person = { email: 'reset.me@example.com', password: 'reset-me-password-1' };
    expect((await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { ...person, role: 'member' } })).status).toBe(201);
    const admin = await pageFor();
    await signIn(admin.page, h.admin.email, h.admin.password);
    await admin.page.getByRole('link', { name: 'Users' }).click();
    expect(await admin.page.getByRole('button', { name: `Reset password of ${h.admin.email}` }).count()).toBe(0);
    await admin.page.getByRole('button', { name: `Reset password of ${person.email}` }).click();
    await admin.page.getByRole('button', { name: 'Reset password', exact: true }).click();
    await admin.page.getByText(`One-time password for ${person.email} — shown only now`).waitFor();
    const oneTime = ((await admin.page.locator('.one-time-password').textContent()) ?? '').trim();
    expect(oneTime).toMatch(/^[A-Za-z0-9]{20}$/);
    await screenshot(admin.page, '23-users-password-reset');
    expect(admin.problems).toEqual([]);

    const { page, problems } = await pageFor();
    // The reset ended the old password.
    await page.goto('/');
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('That email and password do not match an account.').waitFor();
    await signIn(page, person.email, oneTime);
    await page.waitForURL('**/account/password');
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Sections' }).count()).toBe(0);
    await screenshot(page, '24-choose-password');
    // Used once, it signs in no more, and the sign-in page says why.
    const again = await pageFor();
    await again.page.goto('/');
    await again.page.getByLabel('Email').fill(person.email);
    await again.page.getByLabel('Password').fill(oneTime);
    await again.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await again.page.getByText('This one-time password has been used or has expired.').waitFor();
    // Nothing else works: the console comes back here, and the API refuses this session.
    await page.goto('/agents');
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    expect(page.url()).toMatch(/\/account\/password$/);
    const refused = await page.evaluate(async () => {
      const response = await fetch('/api/v1/agents');
      return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
    });
    expect(refused).toEqual({ status: 403, code: 'password_change_required' });

    await page.getByLabel('One-time password').fill(oneTime);
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('Use at least 12 characters.').waitFor();
    const chosen = 'my very own password 42';
    await page.getByLabel('New password', { exact: true }).fill(chosen);
    await page.getByLabel('New password again').fill(chosen);
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.waitForURL('**/agents');
    await page.getByText('Your password is changed.').waitFor();
    expect(await page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents()).toEqual(['Agents', 'Users']);

    // From the user menu, later: a wrong current password is named, and nothing changes.
    await page.getByRole('link', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Change password' }).waitFor();
    await page.getByLabel('Current password').fill('not my password at all');
    await page.getByLabel('New password', { exact: true }).fill('another long password');
    await page.getByLabel('New password again').fill('another long password');
    await page.getByRole('button', { name: 'Save password' }).click();
    await page.getByText('That is not your current password.').waitFor();
    await expectNoSidewaysScroll(page);
    await screenshot(page, '25-change-password');

    // The one-time password never signs in again; the chosen one does.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: person.email, password: oneTime } })).status).toBe(401);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: person.email, password: chosen } })).status).toBe(200);
    expect(h.logLines.join('\n')).not.toContain(oneTime);
    expect(h.logLines.join('\n')).not.toContain(chosen);
    expect(problems).toEqual([]);
  });

  it('signs in and moves around by keyboard alone, with a visible focus ring', async () => {
    const { page } = await pageFor();
    await page.goto('/');
    await page.getByLabel('Email').waitFor();
    await page.keyboard.type(h.admin.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(h.admin.password);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.textContent);
    expect(first).toBe('Skip to content');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const active = document.activeElement as HTMLElement;
      const style = getComputedStyle(active);
      return { text: active.textContent, outline: `${style.outlineStyle} ${style.outlineWidth}` };
    });
    // The admin's home tab comes first.
    expect(ring).toEqual({ text: 'Secrets', outline: 'solid 3px' });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Agents');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/agents');
  });

  it('is readable at 390 px wide: no sideways scrolling on the main pages', async () => {
    await h.call('POST', '/api/v1/secrets', {
      token: h.admin.token,
      body: { name: 'salesforce_oauth_credentials', description: 'Connected app for the CRM lookups', value: { client_id: 'canary-a', client_secret: 'canary-b' }, agents: ['Front desk'] },
    });
    const { page, problems } = await pageFor(390);
    await signIn(page, h.admin.email, h.admin.password);
    await page.waitForURL('**/secrets');
    await page.getByRole('link', { name: 'salesforce_oauth_credentials' }).waitFor();
    expect(await page.getByRole('link', { name: 'Secrets', exact: true }).isVisible()).toBe(true);
    await expectNoSidewaysScroll(page);
    await screenshot(page, '30-narrow-secrets-list');

    await page.getByRole('link', { name: 'salesforce_oauth_credentials' }).click();
    await page.getByRole('heading', { name: 'Agent access' }).waitFor();
    await expectNoSidewaysScroll(page);
    await screenshot(page, '31-narrow-secret-page');

    await page.goto('/secrets/new');
    await page.getByText('Key/value pairs').click();
    await expectNoSidewaysScroll(page);
    await screenshot(page, '32-narrow-add-secret');

    await page.goto('/users');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await expectNoSidewaysScroll(page);
    await screenshot(page, '33-narrow-users');

    await page.goto('/agents');
    await page.getByRole('link', { name: 'Front desk' }).click();
    await page.getByRole('heading', { name: 'Agent keys' }).waitFor();
    await expectNoSidewaysScroll(page);
    await screenshot(page, '34-narrow-agent');
    expect(problems).toEqual([]);
  });
});
