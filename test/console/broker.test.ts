import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { reflect, startUpstream, type Upstream } from '../support/upstream.js';
import { launchBrowser, newContext, screenshot, signIn, watchConsole } from './browser.js';

const VALUE = 'canary-broker-console-5e11';

describe('console: allowed hosts, delivery, reveal and recent uses on the secret page (S25–S27)', () => {
  let h: Harness;
  let upstream: Upstream;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let booking: { id: string; key: string };
  const requestBodies: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.handle = reflect;
    [h, browser] = await Promise.all([startHarness('sqlite', { broker: { allowPrivate: true } }), launchBrowser()]);
    booking = await h.agentWithKey(h.admin.token, 'Booking agent');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'payments_key', value: VALUE, agents: ['Booking agent'] } });
    context = await newContext(browser, h.url);
    page = await context.newPage();
    problems = watchConsole(page);
    page.on('response', async (response) => {
      if (response.url().includes('/api/')) requestBodies.push(await response.text().catch(() => ''));
    });
    await signIn(page, h.admin.email, h.admin.password);
    await page.waitForURL('**/secrets');
  });
  afterAll(async () => {
    // The page never received the value: it was never revealed here.
    expect(requestBodies.join('\n')).not.toContain(VALUE);
    expect(problems).toEqual([]);
    await context?.close();
    await browser?.close();
    await h?.close();
    await upstream?.close();
  });

  it('edits allowed hosts, naming a bad line, and they hold for the next brokered request', async () => {
    await page.goto('/secrets/payments_key');
    const section = page.getByRole('region', { name: 'Use without holding' });
    // Not set up yet: one line, opened on a click.
    await section.getByText('no allowed hosts · readable by value · revealable').click();
    await section.getByText('None: this secret cannot be used in brokered requests.').waitFor();
    await section.getByRole('button', { name: 'Edit allowed hosts' }).click();
    await section.getByLabel('Allowed hosts').fill(`127.0.0.1:${upstream.port}\nhttps://bad.example/path`);
    await section.getByRole('button', { name: 'Save allowed hosts' }).click();
    await section.getByText('"https://bad.example/path": must be a host name').waitFor();
    await section.getByLabel('Allowed hosts').fill(`127.0.0.1:${upstream.port}\nAPI.Payments.Example`);
    await section.getByRole('button', { name: 'Save allowed hosts' }).click();
    await page.getByText('Allowed hosts saved').waitFor();
    expect(await section.getByRole('list', { name: 'Allowed hosts' }).getByRole('listitem').allTextContents()).toEqual([`127.0.0.1:${upstream.port}`, 'api.payments.example']);
    const used = await h.call('POST', '/runtime/v1/requests', { token: booking.key, body: { method: 'GET', url: `http://127.0.0.1:${upstream.port}/charge`, headers: { authorization: 'Bearer {{secret:payments_key}}' } } });
    expect(used.status).toBe(200);
  });

  it('shows recent brokered uses with host, status and agent', async () => {
    await page.reload();
    const section = page.getByRole('region', { name: 'Use without holding' });
    await section.getByRole('cell', { name: `GET 127.0.0.1:${upstream.port}/charge` }).waitFor();
    await section.getByRole('cell', { name: 'Booking agent' }).waitFor();
    await section.getByRole('cell', { name: '200' }).waitFor();
  });

  it('switches delivery to broker-only: get_secret is refused from the next call, and the list says so', async () => {
    const section = page.getByRole('region', { name: 'Use without holding' });
    await section.getByLabel('Delivery').selectOption('broker-only');
    await page.getByText('Broker-only from the next call').waitFor();
    expect((await h.call('GET', '/runtime/v1/secrets/payments_key', { token: booking.key })).body.error.code).toBe('BrokerOnly');
    await page.goto('/secrets');
    await page.getByText('broker-only', { exact: true }).waitFor();
  });

  it('the agent page shows a conv.http.fetch snippet for the broker-only secret', async () => {
    await page.goto(`/agents/${booking.id}`);
    await page.getByText(`conv.http.fetch("https://127.0.0.1:${upstream.port}/", { headers: { authorization: "Bearer {{secret:payments_key}}" } })`).waitFor();
  });

  it('never reveal: after a confirm, the value shows as set, never shown, with no Reveal or Copy', async () => {
    await page.goto('/secrets/payments_key');
    await page.getByRole('button', { name: 'Reveal', exact: true }).waitFor();
    const section = page.getByRole('region', { name: 'Use without holding' });
    await section.getByRole('button', { name: 'Never reveal again…' }).click();
    await section.getByRole('button', { name: 'Never reveal', exact: true }).click();
    await page.getByText('Nobody can reveal or copy this value any more.').waitFor();
    await page.getByText('Set, never shown.').waitFor();
    expect(await page.getByRole('button', { name: 'Reveal', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Copy value' }).count()).toBe(0);
    // It can still be replaced.
    await page.getByRole('button', { name: 'Edit value' }).waitFor();
    await screenshot(page, 'broker-secret-page');
  });
});
