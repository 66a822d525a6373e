import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { runCli, startCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

const TOKEN = 'CANARY-exec-token/+"x"=1';
const CLIENT_ID = 'CANARY-exec-client-id';
const CLIENT_SECRET = 'CANARY-exec-client-secret';
const CANARIES = [TOKEN, CLIENT_ID, CLIENT_SECRET];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A command for exec to start: `node -e SCRIPT`. */
const nodeCommand = (script: string) => ['--', process.execPath, '-e', script];

describe('agent-secrets exec: secrets as environment variables of a command', () => {
  let h: Harness;
  let booking: { key: string };
  let env: Record<string, string>;
  const outputs: CliResult[] = [];

  const exec = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const result = await runCli(['exec', ...args], { ...env, ...extraEnv });
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    h = await startHarness('sqlite');
    booking = await h.agentWithKey(h.admin.token, 'booking');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'booking_api_token', value: TOKEN, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'oauth-client', value: { client_id: CLIENT_ID, 'client.secret': CLIENT_SECRET }, agents: ['booking'] } });
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'not_granted', value: 'CANARY-exec-not-granted' } });
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_AGENT_KEY: booking.key, AGENT_SECRETS_TOKEN: h.admin.token, KEEP_ME: 'kept' };
  });

  afterAll(async () => {
    for (const { stdout, stderr } of outputs) {
      expect(leaksOf(`${stdout}\n${stderr}`, [...CANARIES, 'CANARY-exec-not-granted'])).toEqual([]);
      expect(`${stdout}\n${stderr}`).not.toContain(booking.key);
      expect(`${stdout}\n${stderr}`).not.toContain(h.admin.token);
    }
    await h?.close();
  });

  it('passes single and key/value secrets as variables (default and chosen names), without the credentials', async () => {
    const script = `
      const e = process.env;
      const hash = (v) => v === undefined ? null : require('crypto').createHash('sha256').update(v).digest('hex');
      console.log(JSON.stringify({
        token: hash(e.BOOKING_API_TOKEN), id: hash(e.OAUTH_CLIENT_ID), secret: hash(e.OAUTH_CLIENT_SECRET),
        defaultKv: hash(e.OAUTH_CLIENT_CLIENT_ID),
        agentKey: e.AGENT_SECRETS_AGENT_KEY ?? null, token2: e.AGENT_SECRETS_TOKEN ?? null, kept: e.KEEP_ME,
      }));`;
    const result = await exec(['--secret', 'booking_api_token', '--secret', 'oauth-client=OAUTH', ...nodeCommand(script)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ token: sha256(TOKEN), id: sha256(CLIENT_ID), secret: sha256(CLIENT_SECRET), defaultKv: null, agentKey: null, token2: null, kept: 'kept' });
  });

  it('names a key/value secret\'s variables after the secret by default', async () => {
    const result = await exec(['--secret', 'oauth-client', ...nodeCommand('console.log(Object.keys(process.env).filter((k) => k.startsWith("OAUTH")).sort().join(","))')]);
    expect(result.stdout.trim()).toBe('OAUTH_CLIENT_CLIENT_ID,OAUTH_CLIENT_CLIENT_SECRET');
  });

  it('masks the values in what the command prints, also encoded and split across writes', async () => {
    const script = `
      const t = process.env.TOKEN, s = process.env.OAUTH_CLIENT_SECRET;
      console.log('token', t, encodeURIComponent(t), JSON.stringify({ t }));
      console.error('basic', Buffer.from('id:' + s).toString('base64'));
      process.stdout.write('split ' + t.slice(0, 7));
      setTimeout(() => { process.stdout.write(t.slice(7) + ' done\\n'); }, 50);`;
    const result = await exec(['--secret', 'booking_api_token=TOKEN', '--secret', 'oauth-client=OAUTH', ...nodeCommand(script)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('token *** *** {"t":"***"}\nsplit *** done\n');
    expect(result.stderr).toMatch(/^basic aWQ6\*\*\*/);
    expect(leaksOf(result.stdout + result.stderr, CANARIES)).toEqual([]);
  });

  it('ends with the command\'s exit code', async () => {
    const result = await exec(['--secret', 'booking_api_token', ...nodeCommand('process.exit(7)')]);
    expect(result.code).toBe(7);
  });

  it('passes options after the command on to it', async () => {
    const result = await exec(['--secret', 'booking_api_token', process.execPath, '-e', 'console.log(process.argv.slice(1).join(" "))', '--', '--secret', 'x']);
    expect(result.stdout.trim()).toBe('--secret x');
  });

  it('forwards a signal to the command and reports its exit', async () => {
    const script = `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42); }); console.log('ready'); setInterval(() => {}, 1000);`;
    const running = startCli(['exec', '--secret', 'booking_api_token', ...nodeCommand(script)], env);
    await running.waitFor('ready');
    running.child.kill('SIGTERM');
    const result = await running.done;
    outputs.push(result);
    expect(result.stdout).toContain('got SIGTERM');
    expect(result.code).toBe(42);
  });

  it.each([
    ['an unknown secret', ['--secret', 'booking_api_tokn'], /^agent-secrets: SecretNotFound: Secret "booking_api_tokn" does not exist .*Did you mean "booking_api_token"\?/],
    ['a secret not granted', ['--secret', 'not_granted'], /^agent-secrets: MissingAccess: Agent "booking" has no access to secret "not_granted"/],
    ['a bad variable name', ['--secret', 'booking_api_token=1BAD'], /"1BAD" is not an environment variable name/],
    ['two secrets for one variable', ['--secret', 'booking_api_token=X', '--secret', 'booking_api_token=X'], /both want the variable X/],
    ['no secret', [], /give at least one --secret/],
  ])('refuses %s with one line, without starting the command', async (_label, flags, message) => {
    const result = await exec([...flags, ...nodeCommand('console.log("started")')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('reports a command that does not exist with exit code 127', async () => {
    const result = await exec(['--secret', 'booking_api_token', '--', 'agent-secrets-no-such-command']);
    expect(result.code).toBe(127);
    expect(result.stderr).toBe('agent-secrets: cannot start "agent-secrets-no-such-command": no such command\n');
  });
});
