/**
 * The staged rotation of docs/functions.md ("Environments"), through the real CLI and `agent-secrets
 * run` with keys of each environment (SPEC S21-S24): a live key as the default, the new key as the
 * sandbox override, sandbox reads seen, promotion to live, the sandbox override removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startHarness, type Harness } from '../support/harness.js';
import { runCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

const OLD_LIVE = 'sk_live_CANARY-old-4f1a';
const TEST_KEY = 'sk_test_CANARY-test-77b0';
const NEW_LIVE = 'sk_live_CANARY-new-9c3d';
const example = fileURLToPath(new URL('../../examples/charge_deposit.ts', import.meta.url));

describe('staged rotation through the CLI, with functions run in sandbox and live', () => {
  let h: Harness;
  let env: Record<string, string>;
  const keys: Record<string, string> = {};
  const outputs: CliResult[] = [];
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const result = await runCli(args, { ...env, ...extra });
    outputs.push(result);
    return result;
  };
  const deposit = async (environment: 'sandbox' | 'live') => {
    const result = await cli(['run', example, '--args', '{"amount_cents": 2000}'], { AGENT_SECRETS_AGENT_KEY: keys[environment] ?? '' });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { env: string; mode: string };
  };

  beforeAll(async () => {
    h = await startHarness('sqlite');
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_TOKEN: h.admin.token };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of outputs) expect(leaksOf(stdout + stderr, [OLD_LIVE, TEST_KEY, NEW_LIVE])).toEqual([]);
    expect(h.logLines.join('\n')).not.toContain('CANARY');
    await h?.close();
  });

  it('walks set sandbox → sandbox reads → promote → remove override, and live agents see the new key only after the promotion', async () => {
    await cli(['agents', 'create', 'checkout']);
    for (const environment of ['sandbox', 'live']) {
      const made = await cli(['keys', 'create', 'checkout', '--name', `${environment} functions`, '--env', environment, '--json']);
      const key = JSON.parse(made.stdout) as { environment: string; key: string };
      expect(key.environment).toBe(environment);
      keys[environment] = key.key;
    }
    const listed = await cli(['keys', 'list', 'checkout']);
    expect(listed.stdout).toMatch(/sandbox functions\s+sandbox/);
    expect(listed.stdout).toMatch(/live functions\s+live/);

    expect((await cli(['secrets', 'create', 'stripe_key', '--value', OLD_LIVE, '--agent', 'checkout'])).code).toBe(0);
    const set = await cli(['secrets', 'set', 'stripe_key', '--env', 'sandbox', '--value', TEST_KEY]);
    expect(set.stdout).toBe('Secret "stripe_key" in sandbox is now at version 2.\n');
    expect(await deposit('sandbox')).toEqual({ env: 'sandbox', mode: 'test', amount_cents: 2000 });
    expect(await deposit('live')).toEqual({ env: 'live', mode: 'live', amount_cents: 2000 });

    const got = await cli(['secrets', 'get', 'stripe_key']);
    expect(got.stdout).toContain('overrides           sandbox (version 2)');
    expect(got.stdout).toMatch(/sandbox\s+2\s+its own value/);
    expect(got.stdout).toMatch(/pre-release\s+1\s+the default/);
    const asJson = JSON.parse((await cli(['secrets', 'get', 'stripe_key', '--json'])).stdout);
    expect(asJson.environments).toEqual([
      { environment: 'sandbox', version: 2, source: 'override' },
      { environment: 'pre-release', version: 1, source: 'default' },
      { environment: 'live', version: 1, source: 'default' },
    ]);

    // The admin checks the sandbox reads succeeded before going on.
    await h.vault.audit.flush();
    const sandboxReads = await cli(['audit', 'list', '--secret', 'stripe_key', '--env', 'sandbox', '--action', 'secret.read', '--json']);
    expect(JSON.parse(sandboxReads.stdout).map((e: { outcome: string; version: number; environment: string }) => [e.outcome, e.version, e.environment])).toEqual([['success', 2, 'sandbox']]);

    // In a real rotation the sandbox holds the new live key's test twin; here the new live key goes
    // to sandbox first, is read there, then promoted.
    await cli(['secrets', 'set', 'stripe_key', '--env', 'sandbox', '--value', NEW_LIVE]);
    expect(await deposit('sandbox')).toEqual({ env: 'sandbox', mode: 'live', amount_cents: 2000 });
    const promoted = await cli(['secrets', 'promote', 'stripe_key', '--from', 'sandbox', '--to', 'live']);
    expect(promoted.stdout).toBe('Promoted sandbox\'s value (version 3) of "stripe_key" to live\'s override: version 4.\n');
    const removed = await cli(['secrets', 'unset-env', 'stripe_key', 'sandbox']);
    expect(removed.stdout).toBe('Removed the sandbox override of "stripe_key": sandbox reads the default (version 1) from now on.\n');
    expect(await deposit('live')).toEqual({ env: 'live', mode: 'live', amount_cents: 2000 });
    expect((await h.call('GET', '/runtime/v1/secrets/stripe_key', { token: keys.live })).body).toMatchObject({ version: 4, source: 'override' });

    // Who still reads what, per environment: the insight that says the old key can be revoked.
    await h.vault.audit.flush();
    const access = JSON.parse((await cli(['access', 'list', 'stripe_key', '--json'])).stdout);
    expect(access.agents[0].lastReads.map((r: { environment: string; version: number }) => [r.environment, r.version]).sort()).toEqual([
      ['live', 4],
      ['sandbox', 3],
    ]);
    const liveEvents = JSON.parse((await cli(['audit', 'list', '--secret', 'stripe_key', '--env', 'live', '--json'])).stdout);
    expect(liveEvents.map((e: { action: string; version: number }) => `${e.action} v${e.version}`)).toEqual(['secret.read v4', 'secret.read v4', 'secret.promote v4', 'secret.read v1']);
  }, 90_000); // A walk of some twenty real CLI processes and function runs: minutes' worth on a loaded machine.

  it('refuses bad input with one clear line: an unknown environment, a missing override, a promotion to itself', async () => {
    const unknown = await cli(['secrets', 'set', 'stripe_key', '--env', 'production', '--value', 'x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("option '--env <environment>' argument 'production' is invalid. Allowed choices are sandbox, pre-release, live.");
    const missing = await cli(['secrets', 'unset-env', 'stripe_key', 'pre-release']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('agent-secrets: Secret "stripe_key" has no override for pre-release: reads there already use the default value. (field: environment)\n');
    const itself = await cli(['secrets', 'promote', 'stripe_key', '--from', 'live', '--to', 'live']);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toBe('agent-secrets: promotes from live to live: choose another environment, or "default" (field: to)\n');
  });
});
