/**
 * SPEC S20 and the operator's ways back in (S19, issue 12 items 4 and 6), with real `agent-secrets`
 * processes: the first admin is made only once the service listens; its credentials go to a terminal
 * only; without one, `users reset-password` (and `users set-role`) on storage let the operator in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type StoreLocation } from '../../src/store/database.js';
import { firstAdminToken, outputOf, runCli, startServe, type ServeProcess } from '../support/processes.js';
import { DATABASES, freshStorage, type DatabaseKind, type TestStorage } from '../support/stores.js';

/** What a one-time password looks like (src/crypto/tokens.ts), wherever it would appear. */
const ONE_TIME_PASSWORD = /(?<![A-Za-z0-9])[a-km-zA-HJ-NP-Z2-9]{20}(?![A-Za-z0-9])/;
const TOKEN = /asp_[0-9a-f]{16}_/;
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const env = { AGENT_SECRETS_MASTER_KEY: MASTER_KEY };

/** A port something else already listens on. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return { port: address.port, server };
}

async function peopleIn(location: StoreLocation): Promise<{ accounts: number; users: number; tokens: number }> {
  const store = openStore(location);
  try {
    const count = async (table: 'accounts' | 'users' | 'personal_tokens') => (await store.db.selectFrom(table).select('id').execute()).length;
    return { accounts: await count('accounts'), users: await count('users'), tokens: await count('personal_tokens') };
  } finally {
    await store.close();
  }
}

async function firstAdminPassword(location: StoreLocation) {
  const store = openStore(location);
  try {
    return await store.db.selectFrom('users').select(['password_one_time', 'password_expires_at', 'created_at']).executeTakeFirstOrThrow();
  } finally {
    await store.close();
  }
}

describe.each(DATABASES)('first start on %s', (kind: DatabaseKind) => {
  let dir: string;
  let storage: TestStorage | undefined;
  let args: string[];
  let location: StoreLocation;
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-first-'));
    if (kind === 'postgres') {
      storage = await freshStorage('postgres');
      args = ['--database-url', storage.where];
      location = storage.location;
    } else {
      args = ['--data', join(dir, 'data')];
      location = { kind: 'sqlite', file: join(dir, 'data', 'agent-secrets.db') };
    }
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on a busy port exits with one clear line, and the store holds no account and no admin', async () => {
    const { port, server: squatter } = await busyPort();
    try {
      const result = await runCli(['serve', '--port', String(port), ...args], { env });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^agent-secrets: the port is already in use: .*EADDRINUSE/);
      expect(result.stdout).not.toMatch(TOKEN);
      expect(await peopleIn(location)).toMatchObject({ accounts: 0, users: 0, tokens: 0 });
    } finally {
      squatter.close();
    }
  });

  it('without a terminal prints no password and no token, and logs one line saying how to get in', async () => {
    server = await startServe(args, { env });
    const hint = 'agent-secrets users reset-password admin@example.com';
    const output = await outputOf(server, hint);
    expect(output).not.toMatch(ONE_TIME_PASSWORD);
    expect(output).not.toMatch(TOKEN);
    const hints = output.split('\n').filter((line) => line.includes(hint));
    expect(hints).toHaveLength(1);
    expect(JSON.parse(hints[0] ?? '{}')).toMatchObject({ level: 40, email: 'admin@example.com' });
    // A log stream gets JSON lines only, and the first-start notice before anything says "listening".
    const lines = (await outputOf(server, '"msg":"agent-secrets is listening"')).split('\n').filter((line) => line !== '');
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    const firstStart = messages.findIndex((msg) => msg.startsWith('First start:'));
    expect(firstStart).toBeGreaterThanOrEqual(0);
    expect(messages.slice(0, firstStart).filter((msg) => /listening/i.test(msg))).toEqual([]);
    expect(messages.slice(firstStart)).toEqual(expect.arrayContaining([expect.stringMatching(/^Server listening at /), 'agent-secrets is listening']));
    // No credential that nobody was shown: no token, and a password that can no longer sign in.
    expect(await peopleIn(location)).toEqual({ accounts: 1, users: 1, tokens: 0 });
    const admin = await firstAdminPassword(location);
    expect(admin.password_one_time).toBe(1);
    expect(admin.password_expires_at).toBe(admin.created_at);
  });

  it('users reset-password on storage, while the service runs, gives a one-time password that signs in once to choose a new one', async () => {
    if (!server) throw new Error('no server');
    const reset = await runCli(['users', 'reset-password', 'ADMIN@example.com', '--json', ...args], { env });
    expect(reset.code).toBe(0);
    const printed = JSON.parse(reset.stdout) as { email: string; password: string };
    expect(Object.keys(printed).sort()).toEqual(['email', 'password']);
    expect(printed.email).toBe('admin@example.com');
    expect(printed.password).toMatch(ONE_TIME_PASSWORD);
    const login = async () => fetch(`${server?.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: printed.email, password: printed.password }) });
    const first = await login();
    expect(first.status).toBe(200);
    expect(((await first.json()) as { passwordChangeRequired: boolean }).passwordChangeRequired).toBe(true);
    expect((await login()).status).toBe(401);

    const human = await runCli(['users', 'reset-password', 'admin@example.com', ...args], { env });
    expect(human.stdout).toMatch(/One-time password for admin@example\.com \(account "default"\), shown only now:\n {2}password {2}\S{20}\n/);
    expect((await runCli(['users', 'reset-password', 'nobody@example.com', ...args], { env })).stderr).toBe('agent-secrets: No user nobody@example.com. (field: email)\n');
    expect((await runCli(['users', 'reset-password', 'admin@example.com', '--account', 'other', ...args], { env })).stderr).toContain('No user admin@example.com in account "other"');

    const token = await firstAdminToken(server.url, args, { env });
    const events = (await (await fetch(`${server.url}/api/v1/audit?action=user.password_reset`, { headers: { authorization: `Bearer ${token}` } })).json()) as { events: Array<{ actor: { type: string } }> };
    expect(events.events.map((e) => e.actor.type)).toEqual(['operator', 'operator', 'operator']);
    expect(server.output()).not.toContain(printed.password);
    expect(server.output()).not.toContain(token);
  });

  it('users set-role on storage makes a member admin again, keeps the last admin, and is audited as the operator', async () => {
    if (!server) throw new Error('no server');
    const url = server.url;
    const token = await firstAdminToken(url, args, { env });
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    expect((await api('POST', '/api/v1/users', { email: 'helper@example.com', role: 'member', password: 'helper password 1' })).status).toBe(201);

    const last = await runCli(['users', 'set-role', 'admin@example.com', 'member', ...args], { env });
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last admin of the account');
    const promoted = await runCli(['users', 'set-role', 'helper@example.com', 'admin', '--account', 'default', ...args], { env });
    expect(promoted.stdout).toBe('helper@example.com (account "default") is now admin.\n');
    const wrongAccount = await runCli(['users', 'set-role', 'helper@example.com', 'admin', '--account', 'other', ...args], { env });
    expect(wrongAccount.code).toBe(1);
    const badRole = await runCli(['users', 'set-role', 'helper@example.com', 'owner', ...args], { env });
    expect(badRole.code).not.toBe(0);

    const users = (await (await api('GET', '/api/v1/users')).json()) as { users: Array<{ email: string; role: string }> };
    expect(users.users.find((u) => u.email === 'helper@example.com')?.role).toBe('admin');
    const events = (await (await api('GET', '/api/v1/audit?action=user.role_set')).json()) as { events: Array<{ actor: { type: string }; detail: { email: string; role: string } }> };
    expect(events.events[0]).toMatchObject({ actor: { type: 'operator' }, detail: { email: 'helper@example.com', role: 'admin' } });
    // With an admin token and no storage option, the same command goes over the API, as that admin.
    const overApi = await runCli(['users', 'set-role', 'helper@example.com', 'member'], { env: { AGENT_SECRETS_URL: url, AGENT_SECRETS_TOKEN: token } });
    expect(overApi.code).toBe(0);
    const after = (await (await api('GET', '/api/v1/audit?action=user.role_set')).json()) as { events: Array<{ actor: { type: string; name: string } }> };
    expect(after.events[0]?.actor).toMatchObject({ type: 'user', name: 'admin@example.com' });
  });
});

describe('first start on a terminal', () => {
  let dir: string;
  let server: ServeProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-tty-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the one-time password and the token once, on the terminal: the password signs in once to change it, the token keeps working', async () => {
    server = await startServe(['--data', join(dir, 'data')], { terminal: true });
    const output = server.output();
    expect(output).toContain('First start: created account "default" with the secrets vault enabled, and its first admin.');
    const password = /password {2}(\S+)/.exec(output)?.[1] ?? '';
    const token = /token {5}(asp_\S+)/.exec(output)?.[1] ?? '';
    expect(password).toMatch(ONE_TIME_PASSWORD);
    expect(token).toMatch(TOKEN);
    // The banner comes first, then readable log lines (no JSON), which hold neither credential.
    const lines = output.split(/\r?\n/).filter((line) => line !== '');
    expect(lines[0]).toBe('First start: created account "default" with the secrets vault enabled, and its first admin.');
    expect(lines.filter((line) => line.trimStart().startsWith('{'))).toEqual([]);
    const logLines = lines.filter((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+: /.test(line));
    expect(logLines.map((line) => line.replace(/^\[[\d:.]+\] /, '').replace(/ \{.*$/, ''))).toEqual(expect.arrayContaining([expect.stringMatching(/^INFO: Server listening at http/), 'INFO: agent-secrets is listening']));
    for (const line of logLines) {
      expect(line).not.toContain(password);
      expect(line).not.toContain(token);
    }
    expect(lines.indexOf(logLines[0] ?? '')).toBeGreaterThan(lines.findIndex((line) => line.includes('export AGENT_SECRETS_URL=')));
    const url = server.url;
    const login = () => fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com', password }) });
    const first = await login();
    expect(((await first.json()) as { passwordChangeRequired: boolean }).passwordChangeRequired).toBe(true);
    expect((await login()).status).toBe(401);
    expect((await fetch(`${url}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
