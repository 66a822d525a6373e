/**
 * The embedded store beside other SQLite clients (SPEC section 5): while the server runs, the sqlite3
 * shell reads and writes the file, a second process holds a read-write connection of its own and takes
 * the write lock, and the operator's commands change the store. Then kill -9 and a restart: every
 * acknowledged write is there, every answered read has its event, the file passes integrity_check and
 * the audit chain verifies.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe, type ServeProcess } from '../support/processes.js';

interface Answer {
  status: number;
  body: Record<string, any>;
}

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** The sqlite3 shell, as an operator runs it: a read-write open of the live file, one statement, close. */
function sqliteShell(file: string, statement: string): string {
  const result = spawnSync('sqlite3', [file, statement], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`sqlite3 failed: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * A second process with its own read-write connection, kept open: on each line it is sent it takes the
 * write lock (BEGIN IMMEDIATE), reads, commits, and answers the count it read.
 */
function otherWriter(file: string): { child: ChildProcessWithoutNullStreams; ask(): Promise<number>; close(): Promise<void> } {
  const program = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.pragma('busy_timeout = 10000');
    const count = db.prepare('select count(*) as n from audit_events');
    require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
      const n = db.transaction(() => count.get().n).immediate();
      process.stdout.write(n + '\\n');
    }).on('close', () => db.close());
  `;
  const child = spawn(process.execPath, ['-e', program, file], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
  let buffered = '';
  const waiting: Array<(n: number) => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      waiting.shift()?.(Number(line));
    }
  });
  return {
    child,
    ask: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write('count\n');
      }),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

describe('the embedded store beside the sqlite3 shell, another read-write process and operator commands', () => {
  let dir: string;
  let data: string;
  let file: string;
  let server: ServeProcess;
  let admin = '';
  let agentKey = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-outside-'));
    data = join(dir, 'data');
    file = join(data, 'agent-secrets.db');
    const init = await runCli(['init', '--admin-email', 'ops@example.com', '--data', data, '--json']);
    expect(init.code, init.stderr).toBe(0);
    admin = (JSON.parse(init.stdout) as { token: string }).token;
    server = await startServe(['--data', data]);
    await call(server.url, 'POST', '/api/v1/agents', admin, { name: 'reader' });
    agentKey = (await call(server.url, 'POST', '/api/v1/agents/reader/keys', admin, {})).body.key as string;
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged write and no answered read event, and the file stays whole', { timeout: 120_000 }, async () => {
    const acknowledged = new Map<string, string>();
    let answered = 0;
    const write = async (name: string) => {
      const value = `value-of-${name}`;
      const created = await call(server.url, 'POST', '/api/v1/secrets', admin, { name, value, agents: ['reader'] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      acknowledged.set(name, value);
    };
    const read = async (name: string) => {
      const answer = await call(server.url, 'GET', `/runtime/v1/secrets/${name}`, agentKey);
      expect(answer.status).toBe(200);
      answered += 1;
    };

    for (let i = 0; i < 5; i++) await write(`before_${i}`);
    // An operator looks at the live file with the shell: a read-write open, a read, a close.
    expect(Number(sqliteShell(file, 'select count(*) from audit_events'))).toBeGreaterThan(0);
    const other = otherWriter(file);
    try {
      for (let i = 0; i < 10; i++) {
        await write(`after_${i}`);
        await read(`after_${i}`);
        expect(await other.ask()).toBeGreaterThan(0);
        if (i % 3 === 0) sqliteShell(file, 'begin immediate; select count(*) from secrets; commit;');
      }
    } finally {
      await other.close();
    }

    // An operator switches the vault off straight on storage: the running server honours it at once.
    const off = await runCli(['accounts', 'set-vault', 'default', 'off', '--data', data]);
    expect(off.code, off.stderr).toBe(0);
    const refused = await call(server.url, 'GET', '/runtime/v1/secrets/after_0', agentKey);
    expect(refused.status).toBe(403);
    const on = await runCli(['accounts', 'set-vault', 'default', 'on', '--data', data]);
    expect(on.code, on.stderr).toBe(0);
    for (let i = 0; i < 10; i++) await write(`last_${i}`);
    for (let i = 0; i < 10; i++) await read(`last_${i}`);

    server.child.kill('SIGKILL');
    await new Promise((resolve) => server.child.once('exit', resolve));
    expect(sqliteShell(file, 'pragma integrity_check')).toBe('ok');
    server = await startServe(['--data', data]);

    for (const [name, value] of acknowledged) {
      const revealed = await call(server.url, 'POST', `/api/v1/secrets/${name}/reveal`, admin, {});
      expect(revealed.status, name).toBe(200);
      expect(revealed.body.value === value, name).toBe(true);
    }
    const reads = await call(server.url, 'GET', '/api/v1/audit?action=secret.read&outcome=success&limit=1000', admin);
    expect(reads.body.events.length).toBe(answered);
    expect(sqliteShell(file, 'pragma integrity_check')).toBe('ok');
    const verify = await runCli(['audit', 'verify'], { env: { AGENT_SECRETS_URL: server.url, AGENT_SECRETS_TOKEN: admin } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok/);
  });
});
