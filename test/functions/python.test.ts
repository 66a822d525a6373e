import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { closedPort, fixture, ROOT, runCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

const TOKEN = 'CANARY-py-token/+"x"&y=1 ü';
const CLIENT_SECRET = 'CANARY-py-client-secret';
const CANARIES = [TOKEN, CLIENT_SECRET];
const CLIENT_DIR = fileURLToPath(new URL('../../clients/python/', import.meta.url));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The machine's python3 running a fixture script, with the client importable and only these variables. */
function python(script: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('python3', [fixture(script), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PYTHONPATH: CLIENT_DIR, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('Python client (clients/python/conv_secrets.py) against the real server', () => {
  let h: Harness;
  let booking: { key: string };
  let env: Record<string, string>;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    h = await startHarness('sqlite');
    booking = await h.agentWithKey(h.admin.token, 'booking');
    await h.agentWithKey(h.admin.token, 'support');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'booking_api_token', value: TOKEN, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'oauth_client', value: { client_id: 'py-client-id', client_secret: CLIENT_SECRET }, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'support_only', value: 'CANARY-py-support', agents: ['support'] } });
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: booking.key };
  });
  afterAll(async () => {
    for (const { stdout, stderr } of outputs) {
      expect(leaksOf(`${stdout}\n${stderr}`, [...CANARIES, 'CANARY-py-support', 'CANARY-py-sandbox'])).toEqual([]);
      expect(`${stdout}\n${stderr}`).not.toContain(booking.key);
    }
    await h?.close();
  });

  it('S21/S22: with a sandbox key conv.env is sandbox and reads get the sandbox override; AGENT_SECRETS_ENV of another environment is refused', async () => {
    const sandboxKey = (await h.call('POST', '/api/v1/agents/booking/keys', { token: h.admin.token, body: { environment: 'sandbox' } })).body.key as string;
    await h.call('PATCH', '/api/v1/secrets/booking_api_token', { token: h.admin.token, body: { value: 'CANARY-py-sandbox', environment: 'sandbox' } });
    try {
      const inSandbox = await python('python_client.py', [JSON.stringify(['booking_api_token'])], { ...env, AGENT_SECRETS_AGENT_KEY: sandboxKey, AGENT_SECRETS_ENV: 'sandbox' });
      outputs.push(inSandbox);
      const out = JSON.parse(inSandbox.stdout);
      expect(out.env).toBe('sandbox');
      expect(out.reads[0]).toEqual({ ok: true, type: 'str', sha256: sha256('CANARY-py-sandbox') });
      const mismatch = await python('python_client.py', ['[]'], { ...env, AGENT_SECRETS_AGENT_KEY: sandboxKey, AGENT_SECRETS_ENV: 'live' });
      outputs.push(mismatch);
      expect(JSON.parse(mismatch.stdout)).toEqual({
        refused: 'environment_mismatch',
        message: 'the agent key is a sandbox key, so its functions run in sandbox, not live: drop the environment option (the key says where it runs) or use a live key of the agent',
      });
    } finally {
      await h.call('DELETE', '/api/v1/secrets/booking_api_token/environments/sandbox', { token: h.admin.token });
    }
  });

  it('get_secret returns a str or a dict; SecretNotFound suggests; MissingAccess names secret and agent; conv.log masks', async () => {
    const result = await python('python_client.py', [JSON.stringify(['booking_api_token', 'oauth_client', 'booking_api_tokn', 'support_only'])], env);
    outputs.push(result);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    // conv.env is the key's environment (SPEC S21): the harness makes live keys.
    expect(out).toMatchObject({ agent: 'booking', account: 'default', env: 'live', listed: ['booking_api_token', 'oauth_client'] });
    const [single, kv, typo, refused] = out.reads;
    expect(single).toEqual({ ok: true, type: 'str', sha256: sha256(TOKEN) });
    expect(kv).toEqual({ ok: true, type: 'dict', sha256: sha256(JSON.stringify({ client_id: 'py-client-id', client_secret: CLIENT_SECRET })) });
    expect(typo).toMatchObject({ ok: false, error: 'SecretNotFound', code: 'SecretNotFound', status: 404, secret: 'booking_api_tokn', agent: 'booking', suggestion: 'booking_api_token', isSecretNotFound: true });
    expect(refused).toMatchObject({ ok: false, error: 'MissingAccess', status: 403, secret: 'support_only', agent: 'booking', isMissingAccess: true });
    expect(refused.message).toContain('"support_only"');
    expect(out.log).toContain('[info] value *** {"value": "***", "quoted": "{\\"v\\": \\"***\\"}"}');
    expect(out.log.match(/\*\*\*/g).length).toBeGreaterThanOrEqual(9);
  });

  it('drops the agent key on a redirect to another origin (another port), and keeps it on the same origin', async () => {
    const key = `ask_0123456789abcdef_${'K'.repeat(43)}`;
    const seen: Array<{ at: string; path: string | undefined; authorization: string | undefined }> = [];
    const listen = async (server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    const other = createServer((request, response) => {
      seen.push({ at: 'other', path: request.url, authorization: request.headers.authorization });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ agent: 'booking', account: 'default', environment: 'live', secrets: [] }));
    });
    const otherPort = await listen(other);
    const vault = createServer((request, response) => {
      seen.push({ at: 'vault', path: request.url, authorization: request.headers.authorization });
      const location = request.url === '/runtime/v1/secrets' ? '/moved/runtime/v1/secrets' : `http://127.0.0.1:${otherPort}/runtime/v1/secrets`;
      response.writeHead(302, { location }).end();
    });
    const vaultPort = await listen(vault);
    try {
      const result = await python('python_client.py', ['[]'], { AGENT_SECRETS_URL: `http://127.0.0.1:${vaultPort}`, AGENT_SECRETS_AGENT_KEY: key });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toMatchObject({ agent: 'booking', account: 'default' });
      expect(seen.filter((request) => request.path?.startsWith('/runtime/v1/secrets') || request.path?.startsWith('/moved'))).toEqual([
        { at: 'vault', path: '/runtime/v1/secrets', authorization: `Bearer ${key}` },
        { at: 'vault', path: '/moved/runtime/v1/secrets', authorization: `Bearer ${key}` },
        { at: 'other', path: '/runtime/v1/secrets', authorization: undefined },
        // list_secrets at the end of the script: the same way again.
        { at: 'vault', path: '/runtime/v1/secrets', authorization: `Bearer ${key}` },
        { at: 'vault', path: '/moved/runtime/v1/secrets', authorization: `Bearer ${key}` },
        { at: 'other', path: '/runtime/v1/secrets', authorization: undefined },
      ]);
    } finally {
      await new Promise((resolve) => vault.close(resolve));
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('an unreachable service is VaultUnreachable, not SecretNotFound', async () => {
    const port = await closedPort();
    const result = await python('python_client.py', ['[]'], { ...env, AGENT_SECRETS_URL: `http://127.0.0.1:${port}` });
    expect(JSON.parse(result.stdout)).toMatchObject({ unreachable: true, reason: 'network' });
    expect(JSON.parse(result.stdout).message).toMatch(/cannot reach agent-secrets at http:\/\/127\.0\.0\.1:\d+ \(ConnectionRefusedError\) after 3 attempts/);
  });

  it('agent-secrets run runs a .py function, masking its logs, prints and result', async () => {
    const result = await runCli(['run', fixture('python_function.py'), '--args', '{"name": "booking_api_token"}', '--env', 'live'], env);
    outputs.push(result);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ token: '***', env: 'live', agent: 'booking' });
    expect(result.stderr).toBe('[info] calling with *** {"header": "Bearer ***"}\nprinted *** aWQ6***\n');
  });

  it('a failing .py function ends with its error name and masked message, exit code 1', async () => {
    const result = await runCli(['run', fixture('python_function.py'), '--args', '{"name": "booking_api_token", "fail": true}'], env);
    outputs.push(result);
    expect(result.code).toBe(1);
    // A bug shows where it was thrown in the same line; the traceback only with --verbose.
    expect(result.stderr).toMatch(/^agent-secrets: function failed: RuntimeError: refused \*\*\* \(at .*python_function\.py:\d+; run --verbose for the stack\)\n$/m);
    const missing = await runCli(['run', fixture('python_function.py'), '--args', '{"name": "booking_api_tokn"}'], env);
    outputs.push(missing);
    expect(missing.stderr).toMatch(/^agent-secrets: function failed: SecretNotFound: .*Did you mean "booking_api_token"\?/m);
    const verbose = await runCli(['run', fixture('python_function.py'), '--verbose', '--args', '{"name": "booking_api_token", "fail": true}'], env);
    outputs.push(verbose);
    expect(verbose.stderr).toMatch(/^agent-secrets: function failed: RuntimeError: refused \*\*\*\n {2}File ".*python_function\.py", line \d+, in main/m);
  });

  it('a .py function that cannot reach its upstream fails in one line naming the origin and the cause', async () => {
    const port = await closedPort();
    const result = await runCli(['run', fixture('python_upstream.py'), '--args', JSON.stringify({ url: `http://127.0.0.1:${port}` })], env);
    outputs.push(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`agent-secrets: function failed: cannot reach http://127.0.0.1:${port} (ECONNREFUSED: Connection refused)\n`);
  });
});
