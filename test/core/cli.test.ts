/**
 * The command line as a person uses it: real `agent-secrets` processes, a real server process, the
 * quick start of the README from first start to a revoked read.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAdminToken, runCli, startServe, type ServeProcess } from '../support/processes.js';
import { freshStorage, type TestStorage } from '../support/stores.js';

const CANARY = 'CANARY-cli-0ddba11';
const mode = (path: string) => statSync(path).mode & 0o777;

describe('agent-secrets on the embedded default', () => {
  let dir: string;
  let server: ServeProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-cli-'));
    server = await startServe(['--data', join(dir, 'data')]);
    // Without a terminal the first start shows no credentials (SPEC S20): the operator's way in.
    const token = await firstAdminToken(server.url, ['--data', join(dir, 'data')]);
    env = { AGENT_SECRETS_URL: server.url, AGENT_SECRETS_TOKEN: token };
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('first start creates the default account and says how to get in (the credentials themselves only on a terminal: firstStart.test.ts)', () => {
    expect(server.output()).toContain('First start: created account \\"default\\" and its first admin admin@example.com.');
    expect(env.AGENT_SECRETS_TOKEN).toMatch(/^asp_/);
  });

  it('keeps its files owner-only: folder 0700, master key and database 0600', () => {
    expect(mode(join(dir, 'data'))).toBe(0o700);
    expect(mode(join(dir, 'data', 'master.key'))).toBe(0o600);
    expect(mode(join(dir, 'data', 'agent-secrets.db'))).toBe(0o600);
  });

  it('walks the quick start: agent, key, secret, grant, read, revoke, refused read', async () => {
    expect((await runCli(['agents', 'create', 'booking'], { env })).stdout).toMatch(/Created agent "booking"/);
    const key = JSON.parse((await runCli(['keys', 'create', 'booking', '--json'], { env })).stdout) as { key: string };
    const created = await runCli(['secrets', 'create', 'stripe_api_key', '--stdin', '--description', 'Stripe test key'], { env, input: `${CANARY}\n` });
    expect(created.stdout).toContain('Created secret "stripe_api_key"');
    expect((await runCli(['access', 'grant', 'stripe_api_key', 'booking'], { env })).stdout).toMatch(/booking\s+agt_\w+\s+yes/);

    const read = await fetch(`${server.url}/runtime/v1/secrets/stripe_api_key`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(await read.json()).toEqual({ name: 'stripe_api_key', kind: 'single', version: 1, value: CANARY, environment: 'live', source: 'default' });

    expect((await runCli(['access', 'revoke', 'stripe_api_key', 'booking'], { env })).stdout).toMatch(/booking\s+agt_\w+\s+no/);
    const refused = await fetch(`${server.url}/runtime/v1/secrets/stripe_api_key`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('MissingAccess');

    const list = await runCli(['secrets', 'list'], { env });
    expect(list.stdout).toMatch(/stripe_api_key\s+single\s+1\s+0/);
    expect(list.stdout).not.toContain(CANARY);
    const audit = await runCli(['audit', 'list', '--secret', 'stripe_api_key', '--json'], { env });
    expect((JSON.parse(audit.stdout) as Array<{ action: string; outcome: string }>).map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'secret.read:denied',
      'secret.access_set:success',
      'secret.read:success',
      'secret.access_set:success',
      'secret.create:success',
    ]);
    expect(server.output()).not.toContain(CANARY);
    expect(server.output()).not.toContain(key.key);
  });

  it('sets key/value secrets, rotates, reveals, restores and deletes with confirmation', async () => {
    await runCli(['secrets', 'create', 'oauth', '--kv', 'client_id=abc', '--kv', `client_secret=${CANARY}`], { env });
    const rotated = await runCli(['secrets', 'set', 'oauth', '--stdin-json'], { env, input: JSON.stringify({ client_id: 'abc', client_secret: 'second' }) });
    expect(rotated.stdout).toContain('version 2');
    expect(JSON.parse((await runCli(['secrets', 'reveal', 'oauth', '--version', '1', '--json'], { env })).stdout).value.client_secret).toBe(CANARY);
    expect((await runCli(['secrets', 'restore', 'oauth', '1'], { env })).stdout).toContain('as version 3');
    const versions = await runCli(['secrets', 'versions', 'oauth'], { env });
    expect(versions.stdout).toMatch(/\*\s+3\s+default\s+kv/);
    const unconfirmed = await runCli(['secrets', 'delete', 'oauth', '--confirm', 'oath'], { env });
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('--confirm must repeat the name "oauth"');
    expect((await runCli(['secrets', 'delete', 'oauth', '--confirm', 'oauth'], { env })).code).toBe(0);
  });

  it('prints one clear line for server-side refusals, naming the field, and never the value', async () => {
    const bad = await runCli(['secrets', 'create', 'bad name', '--value', CANARY], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('(field: name)');
    expect(bad.stderr).not.toContain(CANARY);
  });

  it('says clearly when it cannot reach the service, without quoting the token', async () => {
    const result = await runCli(['secrets', 'list'], { env: { ...env, AGENT_SECRETS_URL: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agent-secrets: cannot reach agent-secrets at http:\/\/127\.0\.0\.1:9/);
    expect(result.stderr).not.toContain(env.AGENT_SECRETS_TOKEN);
    const newline = await runCli(['secrets', 'list'], { env: { ...env, AGENT_SECRETS_TOKEN: `${env.AGENT_SECRETS_TOKEN}\nextra` } });
    expect(newline.stderr).toContain('AGENT_SECRETS_TOKEN must be one token');
    expect(newline.stderr).not.toContain(env.AGENT_SECRETS_TOKEN);
  });

  it('a mistyped secret or agent gets the service\'s "did you mean", as is; revoking an agent that does not exist is refused, not a silent no-op', async () => {
    await runCli(['agents', 'create', 'frontdesk'], { env });
    await runCli(['secrets', 'create', 'typo_target', '--value', CANARY, '--agent', 'frontdesk'], { env });
    const get = await runCli(['secrets', 'get', 'typo_targte'], { env });
    expect(get.code).toBe(1);
    expect(get.stderr).toBe('agent-secrets: No secret named "typo_targte" in this account. Did you mean "typo_target"? (field: name)\n');
    const create = await runCli(['secrets', 'create', 'other_secret', '--value', CANARY, '--agent', 'frontdsk'], { env });
    expect(create.stderr).toBe('agent-secrets: no agent "frontdsk" in this account (give an agent\'s name or id). Did you mean "frontdesk"? (field: agents[0])\n');
    const key = await runCli(['keys', 'create', 'frontdek'], { env });
    expect(key.stderr).toBe('agent-secrets: No agent "frontdek" in this account. Did you mean "frontdesk"? (field: agent)\n');
    const grant = await runCli(['access', 'grant', 'typo_target', 'frontdeks'], { env });
    expect(grant.stderr).toContain('Did you mean "frontdesk"?');
    const revoke = await runCli(['access', 'revoke', 'typo_target', 'frontdsk'], { env });
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toBe('agent-secrets: no agent "frontdsk" in this account. Did you mean "frontdesk"?\n');
    // Still granted: the typo changed nothing.
    expect((await runCli(['access', 'list', 'typo_target'], { env })).stdout).toMatch(/frontdesk\s+agt_\w+\s+yes/);
    expect(get.stderr + create.stderr + key.stderr + revoke.stderr).not.toContain(CANARY);
  });

  it('a missing token says where a newcomer\'s token came from: the first start (npm start) or init', async () => {
    const result = await runCli(['secrets', 'list'], { env: { AGENT_SECRETS_URL: server.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'agent-secrets: set AGENT_SECRETS_TOKEN to a personal access token (asp_…): the one `npm start` (agent-secrets serve) printed on its first start, or the one agent-secrets init printed (a user with a token makes more: agent-secrets tokens create NAME)\n',
    );
  });

  it('an agent key where the token belongs is named as one, with where it belongs; a token where the agent key belongs too; neither is echoed', async () => {
    await runCli(['agents', 'create', 'mixup'], { env });
    const { key } = JSON.parse((await runCli(['keys', 'create', 'mixup', '--json'], { env })).stdout) as { key: string };
    const asToken = await runCli(['agents', 'list'], { env: { ...env, AGENT_SECRETS_TOKEN: key } });
    expect(asToken.code).toBe(1);
    expect(asToken.stderr).toContain('agent-secrets: This is an agent key (ask_…): agent keys read secrets at run time (/runtime/v1, agent-secrets run');
    expect(asToken.stderr).toContain('Management (/api/v1) needs a personal access token (asp_…)');
    expect(asToken.stderr).not.toContain(key);
    expect(asToken.stderr).not.toContain(key.slice(4, 20));
    const token = env.AGENT_SECRETS_TOKEN ?? '';
    const asKey = await fetch(`${server.url}/runtime/v1/secrets/anything`, { headers: { authorization: `Bearer ${token}` } });
    expect(asKey.status).toBe(401);
    const body = await asKey.text();
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'unauthenticated', message: expect.stringMatching(/^This is a personal access token \(asp_…\).*Run-time reads need an agent key \(ask_…\)/) } });
    expect(body).not.toContain(token);
    expect(body).not.toContain(token.slice(4, 20));
  });

  it('exports the audit chain and verifies it live and offline, naming a tampered event', async () => {
    const live = await runCli(['audit', 'verify'], { env });
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(/^ok: \d+ events, chain intact up to event \d+ \(hash [0-9a-f]{64}\)/);
    const exported = await runCli(['audit', 'export'], { env });
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, exported.stdout);
    const offline = await runCli(['audit', 'verify', '--file', file], { env });
    expect(offline.stdout).toMatch(/^ok: \d+ events in the file link up/);
    const lines = exported.stdout.trim().split('\n');
    const third = JSON.parse(lines[2] ?? '{}') as Record<string, unknown>;
    lines[2] = JSON.stringify({ ...third, outcome: 'denied' });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const tampered = await runCli(['audit', 'verify', '--file', file], { env });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`BROKEN at event ${third.seq as number}: event ${third.seq as number} was altered`);
  });

  it('operator commands work straight on storage next to the running service', async () => {
    const created = await runCli(['init', '--admin-email', 'ops@acme.example.com', '--account', 'acme', '--json', '--data', join(dir, 'data')]);
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout) as Record<string, string>;
    expect(Object.keys(json).sort()).toEqual(['account', 'email', 'password', 'token']);
    expect(json).toMatchObject({ account: 'acme', email: 'ops@acme.example.com' });
    const acmeSecrets = await fetch(`${server.url}/api/v1/secrets`, { headers: { authorization: `Bearer ${json.token}` } });
    expect(((await acmeSecrets.json()) as { total: number }).total).toBe(0);
    // init's password is one-time (SPEC S19): it signs in once, to choose a new one; the token is unaffected.
    const signIn = () => fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: json.email, password: json.password }) });
    expect(((await (await signIn()).json()) as { passwordChangeRequired: boolean }).passwordChangeRequired).toBe(true);
    expect((await signIn()).status).toBe(401);

    expect((await runCli(['accounts', 'set-vault', 'acme', 'off', '--data', join(dir, 'data')])).stdout).toContain('is now off');
    const accounts = JSON.parse((await runCli(['accounts', 'list', '--json', '--data', join(dir, 'data')])).stdout) as Array<{ name: string; vaultEnabled: boolean }>;
    expect(accounts.map((a) => [a.name, a.vaultEnabled])).toEqual([
      ['acme', false],
      ['default', true],
    ]);
    const refused = await fetch(`${server.url}/api/v1/secrets`, { headers: { authorization: `Bearer ${json.token}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('vault_not_enabled');
    const duplicate = await runCli(['init', '--admin-email', 'x@acme.example.com', '--account', 'acme', '--data', join(dir, 'data')]);
    expect(duplicate.stderr).toContain('An account named "acme" already exists');
  });
});

describe('agent-secrets refuses bad settings with one clear line', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-cfg-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a master key file open to others', async () => {
    const data = join(dir, 'open');
    await runCli(['init', '--admin-email', 'a@example.com', '--data', data]);
    chmodSync(join(data, 'master.key'), 0o644);
    const result = await runCli(['accounts', 'list', '--data', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^agent-secrets: master key file .*master\.key is open to others \(mode 644\); run: chmod 600 /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a master key file of the wrong shape', async () => {
    const keyFile = join(dir, 'short.key');
    writeFileSync(keyFile, 'dG9vIHNob3J0\n', { mode: 0o600 });
    const result = await runCli(['accounts', 'list', '--data', join(dir, 'shaped'), '--master-key-file', keyFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('must hold 32 random bytes, base64-encoded on one line');
  });

  it('a data folder whose master key went missing', async () => {
    const data = join(dir, 'lost');
    await runCli(['init', '--admin-email', 'a@example.com', '--data', data]);
    rmSync(join(data, 'master.key'));
    const result = await runCli(['accounts', 'list', '--data', data]);
    expect(result.stderr).toMatch(/master key file .* is missing, and without it the data .* cannot be opened/);
  });

  it('a bad port, email or database URL', async () => {
    expect((await runCli(['serve', '--port', '70000', '--data', join(dir, 'p')])).stderr).toContain('must be a port number');
    expect((await runCli(['init', '--admin-email', 'nope', '--data', join(dir, 'e')])).stderr).toContain('must be an email address');
    expect((await runCli(['accounts', 'list', '--database-url', 'mysql://x'])).stderr).toContain('--database-url must be a postgres:// or postgresql:// URL');
    expect((await runCli(['accounts', 'list', '--database-url', 'postgres://127.0.0.1/x'])).stderr).toContain('give the master key with --master-key-file');
  });
});

describe('agent-secrets serve on PostgreSQL', () => {
  let storage: TestStorage;
  let server: ServeProcess;
  const masterKey = Buffer.alloc(32, 9).toString('base64');

  beforeAll(async () => {
    storage = await freshStorage('postgres');
    server = await startServe(['--database-url', storage.where], { env: { AGENT_SECRETS_MASTER_KEY: masterKey } });
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
  });

  it('starts with --database-url and the master key from the environment, and serves reads', async () => {
    expect(server.output()).toContain('PostgreSQL postgres://postgres:***@');
    const token = await firstAdminToken(server.url, ['--database-url', storage.where], { env: { AGENT_SECRETS_MASTER_KEY: masterKey } });
    const env = { AGENT_SECRETS_URL: server.url, AGENT_SECRETS_TOKEN: token };
    await runCli(['agents', 'create', 'pg-agent'], { env });
    const key = JSON.parse((await runCli(['keys', 'create', 'pg-agent', '--json'], { env })).stdout) as { key: string };
    await runCli(['secrets', 'create', 'pg_secret', '--value', CANARY, '--agent', 'pg-agent'], { env });
    const read = await fetch(`${server.url}/runtime/v1/secrets/pg_secret`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(((await read.json()) as { value: string }).value).toBe(CANARY);
  });
});
