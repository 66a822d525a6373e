import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium, never a downloaded browser (scripts/ensure-test-packages.sh installs it). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const SCREENSHOTS = join(process.cwd(), 'test-artifacts', 'screenshots');

/** Saves what a person sees, for a reviewer (test-artifacts/ is not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top, so the sticky top bar sits where a person sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** `bypassCSP` only for contexts that inject a test tool (axe-core) into the page. */
export async function newContext(browser: Browser, baseURL: string, width = 1280, options: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: { width, height: width < 600 ? 844 : 900 }, bypassCSP: options.bypassCSP ?? false });
  context.setDefaultTimeout(8_000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  return context;
}

/** Signs in through the sign-in page, as a person would. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Collects what the page logs as errors and every CSP violation. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    // Refusals (4xx) are answers the console handles and shows; anything else is a problem.
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling). */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: (document.scrollingElement ?? document.documentElement).scrollWidth, client: window.innerWidth }));
  expect(scroll, `${page.url()} scrolls sideways`).toBeLessThanOrEqual(client);
}

/**
 * Everything a normal visit must not show in the browser's console: errors and warnings, uncaught
 * exceptions, and every answer of 400 or more (the browser logs each as "Failed to load resource").
 */
export function watchEverything(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  return problems;
}

const AXE = join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js');

/** axe-core's violations on the page as it is now (the context needs bypassCSP to inject it). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document): Promise<{ violations: { id: string; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations.map((violation) => `${violation.id} (${violation.help}): ${violation.nodes.map((node) => JSON.stringify(node.target)).join(', ')}`);
  });
  return violations;
}

/**
 * Where the text of each element matching `selector` wraps onto a new line: for each element, the
 * characters that begin a line after its first (none when it fits on one line).
 */
export async function wrapPoints(page: Page, selector: string): Promise<Array<{ text: string; breaksBefore: string[] }>> {
  return page.$$eval(selector, (elements) =>
    elements.map((element) => {
      const text = element.textContent ?? '';
      const breaksBefore: string[] = [];
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      let lastTop: number | undefined;
      for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
        for (let i = 0; i < (node.textContent ?? '').length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (rect === undefined) continue;
          if (lastTop !== undefined && rect.top > lastTop + 2) breaksBefore.push((node.textContent ?? '').slice(i));
          lastTop = rect.top;
        }
      }
      return { text, breaksBefore };
    }),
  );
}
