import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { closedPort, fixture, runCli, startCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

// Canaries with characters that JSON, URL and base64 encodings all change.
const SINGLE = 'CANARY-bearer/tok+"en"&x=1 ü-7f3a';
const CLIENT_ID = 'CANARY-client-id-19c2';
const CLIENT_SECRET = 'CANARY-client/secret=+q"-5d1e';
const JSON_INNER = 'CANARY-json-api-key-8b0c';
const JSON_SECRET = JSON.stringify({ api_key: JSON_INNER, endpoint: 'https://partner.example.com/v2' });
const CANARIES = [SINGLE, CLIENT_ID, CLIENT_SECRET, JSON_INNER, JSON_SECRET];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('agent-secrets run: functions against a real server (SQLite)', () => {
  let h: Harness;
  let booking: { id: string; key: string };
  let support: { id: string; key: string };
  let env: Record<string, string>;
  const outputs: CliResult[] = [];

  const run = async (file: string, args: unknown = {}, extra: string[] = [], envOverride: Record<string, string> = {}) => {
    const result = await runCli(['run', fixture(file), '--args', JSON.stringify(args), ...extra], { ...env, ...envOverride });
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    h = await startHarness('sqlite');
    booking = await h.agentWithKey(h.admin.token, 'booking');
    support = await h.agentWithKey(h.admin.token, 'support');
    const create = async (body: unknown) => {
      const response = await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body });
      if (response.status !== 201) throw new Error(`create: ${response.status}`);
    };
    await create({ name: 'booking_api_token', value: SINGLE, agents: ['booking'] });
    await create({ name: 'oauth_client', value: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, agents: ['booking'] });
    await create({ name: 'partner_config', value: JSON_SECRET, agents: ['booking'] });
    await create({ name: 'support_only', value: 'CANARY-support-only-value', agents: ['support'] });
    await create({ name: 'rotating_token', value: 'CANARY-rotating-v1', agents: ['booking'] });
    await create({ name: 'revocable_token', value: 'CANARY-revocable', agents: ['booking'] });
    // The CLI's shell also holds a management token and a master key: neither may reach the function.
    env = {
      AGENT_SECRETS_URL: h.url,
      AGENT_SECRETS_AGENT_KEY: booking.key,
      AGENT_SECRETS_TOKEN: h.admin.token,
      AGENT_SECRETS_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
  });

  afterAll(async () => {
    // No output of any run carries a value (also encoded), the agent key or the management token.
    for (const { stdout, stderr } of outputs) {
      const text = `${stdout}\n${stderr}`;
      expect(leaksOf(text, [...CANARIES, 'CANARY-support-only-value', 'CANARY-rotating', 'CANARY-revocable', 'CANARY-sandbox-token'])).toEqual([]);
      expect(text).not.toContain(booking.key);
      expect(text).not.toContain(support.key);
      expect(text).not.toContain(h.admin.token);
    }
    expect(h.logLines.join('\n')).not.toContain('CANARY');
    await h?.close();
  });

  it('a granted read returns the current value: a string, or an object for key/value', async () => {
    const result = await run('readSecrets.ts', { names: ['booking_api_token', 'oauth_client'] });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    // conv.env is the key's environment: the harness makes live keys.
    expect(output).toMatchObject({ agent: 'booking', account: 'default', env: 'live' });
    expect(output.reads[0]).toMatchObject({ ok: true, type: 'string', sha256: sha256(SINGLE) });
    expect(output.reads[1]).toMatchObject({ ok: true, type: 'object', keys: ['client_id', 'client_secret'], sha256: sha256(JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET })) });
  });

  it('MissingAccess names the secret and the agent, and says how to grant it', async () => {
    const result = await run('readSecrets.ts', { names: ['support_only'] });
    const [read] = JSON.parse(result.stdout).reads;
    expect(read).toMatchObject({ ok: false, error: 'MissingAccess', code: 'MissingAccess', status: 403, secret: 'support_only', agent: 'booking', isMissingAccess: true, isSecretNotFound: false });
    expect(read.message).toContain('"support_only"');
    expect(read.message).toContain('"booking"');
    expect(read.message).toMatch(/grant/);
  });

  it('SecretNotFound suggests a readable name that differs by case or a typo', async () => {
    const result = await run('readSecrets.ts', { names: ['booking_api_tokn', 'BOOKING_API_TOKEN', 'no_such_secret_at_all'] });
    const [typo, caseOnly, unknown] = JSON.parse(result.stdout).reads;
    expect(typo).toMatchObject({ error: 'SecretNotFound', status: 404, secret: 'booking_api_tokn', agent: 'booking', suggestion: 'booking_api_token', isSecretNotFound: true });
    expect(typo.message).toContain('Did you mean "booking_api_token"?');
    expect(caseOnly).toMatchObject({ error: 'SecretNotFound', suggestion: 'booking_api_token' });
    expect(unknown).toMatchObject({ error: 'SecretNotFound', suggestion: null });
  });

  it('SecretNotFound never suggests a name the agent cannot read', async () => {
    const result = await run('readSecrets.ts', { names: ['support_onli'] });
    const [read] = JSON.parse(result.stdout).reads;
    expect(read).toMatchObject({ error: 'SecretNotFound', suggestion: null });
    expect(read.message).not.toContain('support_only');
  });

  it('an uncaught SDK error fails the run with its name and message, exit code 1', async () => {
    const result = await runCli(['run', fixture('buggy.ts'), '--args', JSON.stringify({ name: 'support_onyl' })], env);
    outputs.push(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^agent-secrets: function failed: SecretNotFound: Secret "support_onyl" does not exist/m);
  });

  it('a bug in the function shows its name, message and where it was thrown in one line; --verbose shows the stack', async () => {
    const result = await run('buggy.ts', { name: 'booking_api_token' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agent-secrets: function failed: TypeError: .*'id'\) \(at .*buggy\.ts:\d+:\d+; run --verbose for the stack\)\n$/);
    const verbose = await run('buggy.ts', { name: 'booking_api_token' }, ['--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^agent-secrets: function failed: TypeError: .*'id'\)\n\s+at .*buggy\.ts/);
  });

  it('an upstream the function cannot reach fails the run with one line naming its origin and the cause, no stack', async () => {
    const port = await closedPort();
    const refused = await run('upstream.ts', { url: `http://127.0.0.1:${port}` });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`agent-secrets: function failed: cannot reach http://127.0.0.1:${port} (ECONNREFUSED: connection refused: is it running?)\n`);
    // A host that does not resolve (the .invalid domain never does), as the README's first try meets it.
    const unknown = await run('upstream.ts', { url: 'https://booking.invalid' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^agent-secrets: function failed: cannot reach https:\/\/booking\.invalid \((ENOTFOUND|EAI_AGAIN): [^\n]+\)\n$/);
    // An upstream that never answers, given up on by the function's own timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port: silentPort } = silent.address() as AddressInfo;
    const slow = await run('upstream.ts', { url: `http://127.0.0.1:${silentPort}`, timeoutMs: 200 });
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    expect(slow.code).toBe(1);
    expect(slow.stderr).toBe(`agent-secrets: function failed: no answer from http://127.0.0.1:${silentPort} in time (TimeoutError)\n`);
  });

  /** A URL the function waits on (the sandbox shares no folder with the test) and the call that answers it. */
  const goSignal = async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = createServer((_request, response) => void released.then(() => response.end('go')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/go`, go: release, close: () => new Promise((resolve) => server.close(resolve)) };
  };

  it('a grant revoked between two calls of one running function holds from the next call', async () => {
    const signal = await goSignal();
    const running = startCli(['run', fixture('twoReads.ts'), '--args', JSON.stringify({ name: 'revocable_token', go: signal.url })], env);
    await running.waitFor('ready for the change');
    const revoked = await h.call('PUT', '/api/v1/secrets/revocable_token/access', { token: h.admin.token, body: { agents: [] } });
    expect(revoked.status).toBe(200);
    signal.go();
    const result = await running.done;
    await signal.close();
    outputs.push(result);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ first: { sha256: sha256('CANARY-revocable') }, second: { error: 'MissingAccess' } });
  });

  it('a value rotated between two calls of one running function is current at the next call', async () => {
    const signal = await goSignal();
    const running = startCli(['run', fixture('twoReads.ts'), '--args', JSON.stringify({ name: 'rotating_token', go: signal.url })], env);
    await running.waitFor('ready for the change');
    const rotated = await h.call('PATCH', '/api/v1/secrets/rotating_token', { token: h.admin.token, body: { value: 'CANARY-rotating-v2' } });
    expect(rotated.status).toBe(200);
    signal.go();
    const result = await running.done;
    await signal.close();
    outputs.push(result);
    expect(JSON.parse(result.stdout)).toEqual({ first: { sha256: sha256('CANARY-rotating-v1') }, second: { sha256: sha256('CANARY-rotating-v2') } });
  });

  describe('masking (SPEC S12)', () => {
    const leakyArgs = { single: 'booking_api_token', kv: 'oauth_client', json: 'partner_config' };

    it('masks every value, each key/value value and a JSON-shaped secret in logs and in the result, in every encoding', async () => {
      const result = await run('leaky.ts', { ...leakyArgs, mode: 'return' });
      expect(result.code).toBe(0);
      expect(leaksOf(result.stdout, CANARIES)).toEqual([]);
      expect(leaksOf(result.stderr, CANARIES)).toEqual([]);
      // The output is still there, masked: logs of each kind, the split writes, the result.
      expect(result.stderr).toContain('[info] raw ***');
      expect(result.stderr).toContain('[warning] json {"value":"***"} {"value":"***","nested":{"deeper":["***"]}}');
      expect(result.stderr).toContain('[error] url https://api.example.com/book?token=***&v=***');
      expect(result.stderr).toContain('console.log *** { value: \'***\' }');
      expect(result.stderr).toContain('split *** end');
      // Re-serialised, the JSON-shaped secret is the value itself: masked whole.
      expect(result.stderr).toContain('[info] parsed json secret ***\n');
      expect(result.stderr).toContain('[info] whole oauth secret {"client_id":"***","client_secret":"***"}');
      const printed = JSON.parse(result.stdout);
      expect(printed).toMatchObject({ token: '***', oauth: { client_id: '***', client_secret: '***' }, jsonText: '***', parsed: { api_key: '***' } });
    });

    it('masks values inside the error a function throws', async () => {
      const result = await run('leaky.ts', { ...leakyArgs, mode: 'throw' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^agent-secrets: function failed: Error: the booking API refused \*\*\* with \{"token":"\*\*\*"/m);
      expect(leaksOf(result.stderr, CANARIES)).toEqual([]);
    });
  });

  it('the function runs with an empty environment: no key, token or master key, and no key in argv', async () => {
    const result = await run('inspectProcess.ts', { guests: 2 }, ['--env', 'live']);
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout);
    expect(seen.envNames).toEqual([]);
    expect(JSON.stringify([seen.argv, seen.execArgv])).not.toContain('ask_');
    expect(seen.conv).toEqual({ env: 'live', agent: 'booking', account: 'default' });
    expect(seen.args).toEqual({ guests: 2 });
  });

  it('S21/S22: a sandbox key runs the function in sandbox (conv.env) and reads the sandbox override; --env must match the key', async () => {
    const sandbox = await h.call('POST', '/api/v1/agents/booking/keys', { token: h.admin.token, body: { name: 'sandbox', environment: 'sandbox' } });
    const sandboxKey = sandbox.body.key as string;
    await h.call('PATCH', '/api/v1/secrets/booking_api_token', { token: h.admin.token, body: { value: 'CANARY-sandbox-token', environment: 'sandbox' } });
    try {
      const inSandbox = await run('readSecrets.ts', { names: ['booking_api_token'] }, [], { AGENT_SECRETS_AGENT_KEY: sandboxKey });
      expect(inSandbox.code).toBe(0);
      expect(JSON.parse(inSandbox.stdout)).toMatchObject({ env: 'sandbox', reads: [{ ok: true, sha256: sha256('CANARY-sandbox-token') }] });
      const inLive = await run('readSecrets.ts', { names: ['booking_api_token'] }, ['--env', 'live']);
      expect(JSON.parse(inLive.stdout)).toMatchObject({ env: 'live', reads: [{ ok: true, sha256: sha256(SINGLE) }] });

      const mismatch = await run('plain.js', {}, ['--env', 'live'], { AGENT_SECRETS_AGENT_KEY: sandboxKey });
      expect(mismatch.code).toBe(1);
      expect(mismatch.stdout).toBe('');
      expect(mismatch.stderr).toBe(
        'agent-secrets: --env live: the agent key is a sandbox key, so its functions run in sandbox, not live: drop the environment option (the key says where it runs) or use a live key of the agent\n',
      );
      expect(mismatch.stderr).not.toContain(sandboxKey);
    } finally {
      await h.call('DELETE', '/api/v1/secrets/booking_api_token/environments/sandbox', { token: h.admin.token });
    }
  });

  it('list_secrets gives the readable secrets with a snippet each, never a value', async () => {
    const result = await run('inspectProcess.ts');
    const { readable } = JSON.parse(result.stdout);
    // revocable_token was revoked by an earlier test.
    expect(readable.map((secret: { name: string }) => secret.name)).toEqual(['booking_api_token', 'oauth_client', 'partner_config', 'rotating_token']);
    expect(readable.find((secret: { name: string }) => secret.name === 'oauth_client')).toEqual({
      name: 'oauth_client',
      kind: 'kv',
      keys: ['client_id', 'client_secret'],
      description: '',
      delivery: 'value',
      allowedHosts: [],
      snippet: 'const { client_id, client_secret } = await conv.utils.get_secret<{ client_id: string; client_secret: string }>("oauth_client");',
    });
  });

  it('runs a plain JavaScript file too, with the key from --agent-key', async () => {
    const { AGENT_SECRETS_AGENT_KEY: _unused, ...withoutKey } = env;
    const result = await runCli(['run', '--agent-key', booking.key, fixture('plain.js'), '--args', '{"name":"booking_api_token"}'], withoutKey);
    outputs.push(result);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ length: SINGLE.length, kind: 'string' });
    expect(result.stderr).toBe(`[info] read it {"length":${SINGLE.length}}\n`);
  });

  it('a service that cannot be reached fails with VaultUnreachable, not SecretNotFound', async () => {
    const port = await closedPort();
    const result = await run('readSecrets.ts', { names: ['booking_api_token'] }, [], { AGENT_SECRETS_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`agent-secrets: VaultUnreachable: cannot reach agent-secrets at http://127.0.0.1:${port} (ECONNREFUSED) after 3 attempts; is it running, and is AGENT_SECRETS_URL right?`);
  });

  it.each([
    ['no agent key', ['run', 'x.ts'], { AGENT_SECRETS_AGENT_KEY: '' }, /give the agent key with --agent-key or AGENT_SECRETS_AGENT_KEY/],
    ['a malformed agent key', ['run', 'x.ts'], { AGENT_SECRETS_AGENT_KEY: 'not-a-key' }, /the agent key is malformed/],
    ['a missing file', ['run', 'test/functions/fixtures/missing.ts'], {}, /no function file at test\/functions\/fixtures\/missing\.ts/],
    ['a file without a default export', ['run', 'test/functions/fixtures/noDefault.ts'], {}, /must export a default function/],
    ['bad --args', ['run', 'test/functions/fixtures/plain.js', '--args', '{oops'], {}, /--args must be JSON/],
    ['a bad --env', ['run', 'test/functions/fixtures/plain.js', '--env', 'prod'], {}, /--env must be one of sandbox, pre-release, live/],
  ])('refuses %s with one clear line', async (_label, args, envOverride, message) => {
    const result = await runCli(args, { ...env, ...envOverride });
    outputs.push(result);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('a revoked agent key stops the run before the function starts, without echoing the key', async () => {
    const other = await h.agentWithKey(h.admin.token, 'retired');
    await h.call('DELETE', `/api/v1/agents/${other.id}/keys/${other.keyId}`, { token: h.admin.token });
    const result = await run('readSecrets.ts', { names: [] }, [], { AGENT_SECRETS_AGENT_KEY: other.key });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agent-secrets: SecretsError: The agent key is missing, malformed, unknown or revoked/m);
    expect(result.stderr).not.toContain(other.key);
  });
});
