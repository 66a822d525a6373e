/**
 * SPEC S21-S23 in a real browser: an admin makes a sandbox key on the agent's page, and walks the
 * secret page's staged rotation (set the sandbox value → see the sandbox reads → promote → remove the
 * override → the reminder to revoke), while an agent function reads the secret in sandbox and in live
 * through `agent-secrets run` with a key of each environment.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../functions/cli.js';
import { leaksOf } from '../functions/leaks.js';
import { startHarness, type Harness } from '../support/harness.js';
import { launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

const OLD_LIVE = 'sk_live_CANARY-console-old-31c8';
const NEW_LIVE = 'sk_live_CANARY-console-new-8e02';
const example = fileURLToPath(new URL('../../examples/charge_deposit.ts', import.meta.url));

describe('console: staged rotation of a secret, with functions reading in sandbox and live', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let checkout: { id: string; key: string };
  let sandboxKey = '';
  const outputs: CliResult[] = [];

  /** The example function, run as `agent-secrets run` runs it, with the given key: which Stripe key it got. */
  const deposit = async (key: string): Promise<{ env: string; mode: string }> => {
    const result = await runCli(['run', example, '--args', '{"amount_cents": 500}'], { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: key });
    outputs.push(result);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { env: string; mode: string };
  };
  /** Which of the two live keys a key reads now, told apart by version and source (both are sk_live_). */
  const readNow = async (key: string) => (await h.call('GET', '/runtime/v1/secrets/stripe_key', { token: key })).body as { version: number; source: string; value: string };

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite'), launchBrowser()]);
    checkout = await h.agentWithKey(h.admin.token, 'checkout');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'stripe_key', value: OLD_LIVE, agents: ['checkout'] } });
    context = await newContext(browser, h.url);
    page = await context.newPage();
    problems = watchConsole(page);
    await signIn(page, h.admin.email, h.admin.password);
  });
  afterAll(async () => {
    for (const { stdout, stderr } of outputs) expect(leaksOf(stdout + stderr, [OLD_LIVE, NEW_LIVE])).toEqual([]);
    expect(h.logLines.join('\n')).not.toContain('CANARY');
    expect(problems).toEqual([]);
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  it("makes a sandbox key on the agent's page, which lists each key's environment", async () => {
    await page.goto(`/agents/${checkout.id}`);
    const keys = page.getByRole('region', { name: 'Agent keys' });
    await keys.getByLabel('Key name (optional)').fill('sandbox functions');
    await keys.getByLabel('Environment').selectOption('sandbox');
    await keys.getByRole('button', { name: 'Create key' }).click();
    sandboxKey = (await keys.locator('.one-time-key').textContent()) ?? '';
    expect(sandboxKey).toMatch(/^ask_/);
    await keys.getByRole('button', { name: 'I have stored it' }).click();
    await keys.getByRole('row', { name: /sandbox functions.*sandbox/ }).waitFor();
    await keys.getByRole('row', { name: /test.*live/ }).waitFor();
    expect(await deposit(sandboxKey)).toEqual({ env: 'sandbox', mode: 'live', amount_cents: 500 });
  });

  it('walks the staged rotation: sandbox value, sandbox reads seen, promote to live, override removed, revoke reminder', async () => {
    await page.goto('/secrets/stripe_key');
    const rotation = page.getByRole('region', { name: 'Staged rotation' });
    await rotation.getByRole('button', { name: 'Start staged rotation' }).click();
    await rotation.getByLabel('Secret value').fill(NEW_LIVE);
    await rotation.getByRole('button', { name: 'Save new value' }).click();
    await page.getByText('Version 2 is now the sandbox value').waitFor();
    expect(await readNow(sandboxKey)).toMatchObject({ version: 2, source: 'override', value: NEW_LIVE });
    expect(await readNow(checkout.key)).toMatchObject({ version: 1, source: 'default', value: OLD_LIVE });

    // Not yet read in sandbox: the flow does not let the admin promote.
    const continueButton = rotation.getByRole('button', { name: 'Continue to promote' });
    expect(await continueButton.isDisabled()).toBe(true);
    expect(await deposit(sandboxKey)).toEqual({ env: 'sandbox', mode: 'live', amount_cents: 500 });
    await h.vault.audit.flush();
    await rotation.getByRole('button', { name: 'Refresh' }).click();
    await rotation.getByText('Sandbox agents read the new value (version 2).').waitFor();
    await screenshot(page, 'env-01-sandbox-reads');
    await continueButton.click();

    await rotation.getByRole('button', { name: 'Promote sandbox → live' }).click();
    await page.getByText("Promoted sandbox's version 2 to live as version 3.").waitFor();
    expect(await readNow(checkout.key)).toMatchObject({ version: 3, source: 'override', value: NEW_LIVE });
    expect(await deposit(checkout.key)).toEqual({ env: 'live', mode: 'live', amount_cents: 500 });

    await rotation.getByRole('button', { name: 'Remove sandbox override' }).click();
    await page.getByText('The sandbox override is removed').waitFor();
    expect(await readNow(sandboxKey)).toMatchObject({ version: 1, source: 'default' });

    await h.vault.audit.flush();
    await rotation.getByRole('button', { name: 'Refresh' }).click();
    await rotation.getByText('revoke the old credential where it was issued').waitFor();
    await rotation.getByRole('list', { name: 'Last reads in live' }).getByText('checkout · version 3').waitFor();
    await rotation.getByText('reads the new value').waitFor();
    await screenshot(page, 'env-02-revoke-reminder');
  });

  it('shows each environment in one place, and the secrets list names the environments with their own value', async () => {
    const environments = page.getByRole('region', { name: 'Value per environment' });
    const live = environments.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'live' }) });
    await live.getByText('v3 · own value').waitFor();
    const sandbox = environments.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'sandbox' }) });
    await sandbox.getByText('v1 · default', { exact: true }).waitFor();
    // Reveal what live reads: audited, and the value the live key reads.
    await live.getByRole('button', { name: 'Reveal the live value', exact: true }).click();
    await live.getByText(NEW_LIVE).waitFor();
    await live.getByRole('button', { name: 'Hide the live value', exact: true }).click();
    expect(await page.getByText(NEW_LIVE).count()).toBe(0);

    await page.goto('/secrets');
    await page.getByRole('row', { name: /stripe_key/ }).getByText('live', { exact: true }).waitFor();
    await screenshot(page, 'env-03-secrets-list');
  });
});
