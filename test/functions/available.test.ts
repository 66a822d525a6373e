import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { runCli } from './cli.js';

describe('agent-secrets secrets available: what an agent can read (SPEC S11)', () => {
  let h: Harness;
  let booking: { key: string };
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness('sqlite');
    booking = await h.agentWithKey(h.admin.token, 'booking');
    await h.agentWithKey(h.admin.token, 'support');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'stripe_api_key', description: 'Stripe live key', value: 'CANARY-available-1', agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'oauth-client', value: { client_id: 'CANARY-available-2', 'client.secret': 'CANARY-available-3' }, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'support_only', value: 'CANARY-available-4', agents: ['support'] } });
    env = { AGENT_SECRETS_URL: h.url };
  });
  afterAll(async () => h?.close());

  it('lists names, kinds and keys with a TypeScript snippet each, never a value or another agent\'s secret', async () => {
    const result = await runCli(['secrets', 'available', '--agent-key', booking.key], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'Agent "booking" (account "default") can read 2 secrets:',
        '',
        'oauth-client  key/value (client_id, client.secret)',
        '  const { client_id, "client.secret": clientSecret } = await conv.utils.get_secret<{ client_id: string; "client.secret": string }>("oauth-client");',
        '',
        'stripe_api_key  single value  — Stripe live key',
        '  const stripeApiKey = await conv.utils.get_secret<string>("stripe_api_key");',
        '',
      ].join('\n'),
    );
    expect(result.stdout + result.stderr).not.toContain('CANARY');
  });

  it('gives Python snippets, and JSON with every language', async () => {
    const python = await runCli(['secrets', 'available', '--lang', 'python'], { ...env, AGENT_SECRETS_AGENT_KEY: booking.key });
    expect(python.stdout).toContain('  stripe_api_key = conv.utils.get_secret("stripe_api_key")\n');
    expect(python.stdout).toContain('  oauth_client = conv.utils.get_secret("oauth-client")  # keys: client_id, client.secret\n');

    const json = await runCli(['secrets', 'available', '--json'], { ...env, AGENT_SECRETS_AGENT_KEY: booking.key });
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ agent: 'booking', account: 'default' });
    expect(parsed.secrets[1]).toEqual({
      name: 'stripe_api_key',
      kind: 'single',
      keys: [],
      description: 'Stripe live key',
      delivery: 'value',
      allowedHosts: [],
      snippets: {
        typescript: 'const stripeApiKey = await conv.utils.get_secret<string>("stripe_api_key");',
        javascript: 'const stripeApiKey = await conv.utils.get_secret("stripe_api_key");',
        python: 'stripe_api_key = conv.utils.get_secret("stripe_api_key")',
      },
    });
    expect(json.stdout).not.toContain('CANARY');
  });

  it('says so when the agent can read nothing', async () => {
    const idle = await h.agentWithKey(h.admin.token, 'idle');
    const result = await runCli(['secrets', 'available', '--agent-key', idle.key], env);
    expect(result.stdout).toContain('Agent "idle" (account "default") can read 0 secrets.');
  });

  it('refuses a revoked key with one line that does not echo it', async () => {
    const retired = await h.agentWithKey(h.admin.token, 'retired');
    await h.call('DELETE', `/api/v1/agents/${retired.id}/keys/${retired.keyId}`, { token: h.admin.token });
    const result = await runCli(['secrets', 'available', '--agent-key', retired.key], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agent-secrets: The agent key is missing, malformed, unknown or revoked/);
    expect(result.stderr).not.toContain(retired.key);
  });

  it('explains a management token given where an agent key belongs', async () => {
    const result = await runCli(['secrets', 'available', '--agent-key', h.admin.token], env);
    expect(result.stderr).toBe('agent-secrets: that is a personal access token (asp_…); run-time commands need an agent key (ask_…, from agent-secrets keys create AGENT)\n');
  });

  it('the CLI sets allowed hosts, delivery and reveal; a broker-only secret shows how to use it, with a conv.http.fetch snippet', async () => {
    const admin = { ...env, AGENT_SECRETS_TOKEN: h.admin.token };
    const created = await runCli(['secrets', 'create', 'payments_key', '--value', 'CANARY-available-5', '--agent', 'booking', '--allowed-host', 'API.Payments.example', '--allowed-host', '*.payments.example', '--delivery', 'broker-only', '--reveal', 'never'], admin);
    expect(created.code).toBe(0);
    const shown = await runCli(['secrets', 'get', 'payments_key'], admin);
    expect(shown.stdout).toContain('allowed hosts       api.payments.example, *.payments.example');
    expect(shown.stdout).toContain('delivery            broker-only (conv.http.fetch only)');
    expect(shown.stdout).toContain('reveal              never (set, never shown)');
    const listed = await runCli(['secrets', 'list'], admin);
    expect(listed.stdout).toMatch(/LAST READ +USE\n/);
    expect(listed.stdout).toMatch(/payments_key .* broker-only,never-revealed,hosts:2\n/);
    const refused = await runCli(['secrets', 'set', 'payments_key', '--allowed-host', 'https://x'], admin);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(field: allowedHosts.0)');
    const list = await runCli(['secrets', 'available', '--agent-key', booking.key], env);
    expect(list.stdout).toContain('payments_key  single value, broker-only (conv.http.fetch to api.payments.example, *.payments.example)\n');
    expect(list.stdout).toContain('  const response = await conv.http.fetch("https://api.payments.example/", { headers: { authorization: "Bearer {{secret:payments_key}}" } });\n');
    const cleared = await runCli(['secrets', 'set', 'payments_key', '--no-allowed-hosts', '--json'], admin);
    expect(JSON.parse(cleared.stdout).allowedHosts).toEqual([]);
    expect(`${created.stdout}${shown.stdout}${list.stdout}`).not.toContain('CANARY');
  });
});
