import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as runOperator, startServe, type ServeProcess } from '../support/processes.js';
import { BIN, fixture, runCli, type CliResult } from './cli.js';
import { leaksOf } from './leaks.js';

/**
 * SPEC section 5: a function run by `agent-secrets run` holds the agent's capability and nothing more.
 * A real service over a real store on disk (SQLite file and master key file), and a caller's shell
 * holding an admin token, a master key and a cloud credential; hostile functions hunt for all of it.
 */
const SECRET = 'CANARY-sandbox-granted-value/+"x" ü';
const MASTER_KEY_VARIABLE = 'CANARY-master-key-variable-4d1f';
const CLOUD_CREDENTIAL = 'CANARY-aws-secret-access-key-77a0';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Hunt {
  pids: string[];
  opened: Record<string, boolean>;
  found: Array<{ where: string; hex: string }>;
  secret: string;
  wroteOwnFolder?: boolean;
  keysInMemory?: string[];
}

describe('agent-secrets run: the function sandbox', () => {
  let dir: string;
  let data: string;
  let server: ServeProcess;
  let adminToken: string;
  let agentKey: string;
  let masterKeyFile: string;
  let shellEnv: Record<string, string>;
  const outputs: CliResult[] = [];

  /** `agent-secrets run` started by a shell that holds the caller's credentials, as a person runs it. */
  const runFromShell = (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, BIN, 'run', ...args], {
        cwd: options.cwd ?? dir,
        env: { PATH: process.env.PATH ?? '', ...shellEnv, ...options.env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('close', (code, signal) => {
        const result = { code, signal, stdout, stderr };
        outputs.push(result);
        resolve(result);
      });
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-sandbox-'));
    data = join(dir, 'data');
    const init = await runOperator(['init', '--admin-email', 'admin@example.com', '--json', '--data', data]);
    if (init.code !== 0) throw new Error(`init: ${init.stderr}`);
    adminToken = (JSON.parse(init.stdout) as { token: string }).token;
    server = await startServe(['--data', data]);
    const api = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (response.status !== 201) throw new Error(`${method} ${path}: ${response.status}`);
      return (await response.json()) as Record<string, string>;
    };
    const agent = await api('POST', '/api/v1/agents', { name: 'booking' });
    agentKey = (await api('POST', `/api/v1/agents/${agent.id}/keys`, { name: 'test' })).key ?? '';
    await api('POST', '/api/v1/secrets', { name: 'booking_api_token', value: SECRET, agents: ['booking'] });
    masterKeyFile = join(data, 'master.key');
    // The functions live beside the store, in the folder the caller works in (where ./data is the default).
    for (const name of ['hostile.ts', 'hostile.py']) copyFileSync(fixture(name), join(dir, name));
    shellEnv = {
      AGENT_SECRETS_URL: server.url,
      AGENT_SECRETS_AGENT_KEY: agentKey,
      AGENT_SECRETS_TOKEN: adminToken,
      AGENT_SECRETS_MASTER_KEY: MASTER_KEY_VARIABLE,
      AWS_SECRET_ACCESS_KEY: CLOUD_CREDENTIAL,
    };
  });

  afterAll(async () => {
    for (const { stdout, stderr } of outputs) {
      const text = `${stdout}\n${stderr}`;
      expect(leaksOf(text, [SECRET, MASTER_KEY_VARIABLE, CLOUD_CREDENTIAL, adminToken, agentKey])).toEqual([]);
    }
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const storePaths = () => [masterKeyFile, join(data, 'agent-secrets.db'), join(data, 'agent-secrets.db-wal'), data];

  const expectNothingFound = (hunt: Hunt) => {
    const everything = hunt.found.map((item) => `${item.where}: ${Buffer.from(item.hex, 'hex').toString('utf8')}`).join('\n');
    const masterKey = readFileSync(masterKeyFile, 'utf8').trim();
    expect(leaksOf(everything, [MASTER_KEY_VARIABLE, CLOUD_CREDENTIAL, adminToken, agentKey, masterKey, SECRET])).toEqual([]);
    // The hunt was real: it could read the /proc it was given.
    expect(hunt.opened['/proc/self/cmdline']).toBe(true);
    // Every process it can see has an empty environment, its own included.
    for (const item of hunt.found.filter((found) => found.where.endsWith('/environ'))) expect(item, item.where).toEqual({ where: item.where, hex: '' });
    // It sees its own process tree only: the sandbox's first process and itself (and esbuild for TypeScript).
    expect(hunt.pids.length).toBeLessThanOrEqual(3);
    for (const path of storePaths()) {
      expect(hunt.opened[path], path).toBe(false);
      expect(hunt.opened[`ls ${path}`] && Buffer.from(hunt.found.find((item) => item.where === `ls ${path}`)?.hex ?? '', 'hex').toString(), `ls ${path}`).toBeFalsy();
    }
    expect(hunt.secret).toBe(sha256(SECRET));
  };

  it('a hostile TypeScript function finds no environment, command line, master key or store file, nor the agent key in its own memory, and its granted read works', async () => {
    const result = await runFromShell([join(dir, 'hostile.ts'), '--args', JSON.stringify({ secret: 'booking_api_token', paths: storePaths() })]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const hunt = JSON.parse(result.stdout) as Hunt;
    expectNothingFound(hunt);
    expect(hunt.wroteOwnFolder).toBe(false);
    expect(hunt.keysInMemory).toEqual([]);
    expect(existsSync(join(dir, 'planted.txt'))).toBe(false);
  });

  it('a hostile Python function finds no environment, command line, master key or store file, nor the agent key in its own memory', async () => {
    const result = await runFromShell([join(dir, 'hostile.py'), '--args', JSON.stringify({ secret: 'booking_api_token', paths: storePaths() })]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const hunt = JSON.parse(result.stdout) as Hunt;
    expectNothingFound(hunt);
    expect(hunt.keysInMemory).toEqual([]);
  });

  it('what a TypeScript function writes to descriptors 1 and 2 (writeSync, pino on fd 2, a program it starts) is masked, and stdout holds only the result', async () => {
    const result = await runFromShell([fixture('fdWrites.ts'), '--args', JSON.stringify({ name: 'booking_api_token' })]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify({ token: '***', length: SECRET.length }, null, 2)}\n`);
    expect(result.stderr).toContain('fd1 ***\n');
    expect(result.stderr).toContain('fd2 ***\n');
    expect(result.stderr).toContain('fd1 half *** end\n');
    expect(result.stderr).toMatch(/"token":"\*\*\*".*"msg":"pino line"/);
    expect(result.stderr).toContain('child program ***\n');
    expect(leaksOf(result.stderr, [SECRET])).toEqual([]);
  });

  it('what a Python function writes with os.write(1 or 2) or sys.__stdout__ is masked, and stdout holds only the result', async () => {
    const result = await runFromShell([fixture('fd_writes.py'), '--args', JSON.stringify({ name: 'booking_api_token' })]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify({ token: '***', length: SECRET.length }, null, 2)}\n`);
    expect(result.stderr).toContain('fd1 ***\n');
    expect(result.stderr).toContain('fd2 ***\n');
    expect(result.stderr).toContain('dunder stdout ***\n');
    expect(leaksOf(result.stderr, [SECRET])).toEqual([]);
  });

  const readArgs = ['--args', JSON.stringify({ names: ['booking_api_token'] })];

  it('without bwrap on PATH, run refuses with one line that says what --no-sandbox gives up; --no-sandbox runs', async () => {
    const refused = await runCli(['run', fixture('readSecrets.ts'), ...readArgs], { ...shellEnv, PATH: join(dir, 'no-such-bin') });
    outputs.push(refused);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^agent-secrets: cannot sandbox the function: bwrap \(bubblewrap.*\) is not on PATH; or run it with --no-sandbox, but the function can then read whatever your user can: other processes' environments .*store's files\n$/);

    const unsandboxed = await runCli(['run', '--no-sandbox', fixture('readSecrets.ts'), ...readArgs], { ...shellEnv, PATH: join(dir, 'no-such-bin') });
    outputs.push(unsandboxed);
    expect(unsandboxed.code).toBe(0);
    expect(JSON.parse(unsandboxed.stdout).reads[0]).toMatchObject({ ok: true, sha256: sha256(SECRET) });
    expect(unsandboxed.stderr).toMatch(/^agent-secrets: running without a sandbox \(--no-sandbox\): the function can then read whatever your user can.*\n$/);
  });

  it('where namespaces cannot be made, run refuses with one line naming the cause; --no-sandbox runs', async () => {
    // A machine that allows no new namespaces: the command runs inside a sandbox that forbids them.
    const noNamespaces = (args: string[]) =>
      new Promise<CliResult>((resolve) => {
        const child = spawn('bwrap', ['--dev-bind', '/', '/', '--unshare-user', '--disable-userns', '--cap-drop', 'ALL', '--', process.execPath, BIN, 'run', ...args], {
          env: { PATH: process.env.PATH ?? '', ...shellEnv },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
    const refused = await noNamespaces([fixture('readSecrets.ts'), ...readArgs]);
    outputs.push(refused);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^agent-secrets: cannot sandbox the function \(bwrap: [^\n]+\); or run it with --no-sandbox, but the function can then read[^\n]*\n$/);

    const unsandboxed = await noNamespaces(['--no-sandbox', fixture('readSecrets.ts'), ...readArgs]);
    outputs.push(unsandboxed);
    expect(unsandboxed.code).toBe(0);
    expect(JSON.parse(unsandboxed.stdout).reads[0]).toMatchObject({ ok: true, sha256: sha256(SECRET) });
  });

  it('refuses a function right in a shared temporary folder, which the sandbox would show whole', async () => {
    const file = join(tmpdir(), `agent-secrets-sandbox-${process.pid}.js`);
    copyFileSync(fixture('plain.js'), file);
    try {
      const result = await runFromShell([file, '--args', '{}']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`agent-secrets: the sandbox shows the function's folder to it, and ${tmpdir()} is a temporary folder every program shares; put the function in a folder of its own\n`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('hides a store made anywhere under the function\'s folder, not only in ./data (a second store at proj/vault/store)', async () => {
    const elsewhere = join(dir, 'vault', 'store');
    const made = await runOperator(['init', '--admin-email', 'other@example.com', '--json', '--data', elsewhere]);
    expect(made.code).toBe(0);
    outputs.push({ code: made.code, signal: null, stdout: '', stderr: made.stderr });
    const otherKey = readFileSync(join(elsewhere, 'master.key'), 'utf8').trim();
    const paths = [join(elsewhere, 'master.key'), join(elsewhere, 'agent-secrets.db'), elsewhere];
    try {
      const result = await runFromShell([join(dir, 'hostile.ts'), '--args', JSON.stringify({ secret: 'booking_api_token', paths })]);
      expect(result.code).toBe(0);
      const hunt = JSON.parse(result.stdout) as Hunt;
      for (const path of paths) {
        expect(hunt.opened[path], path).toBe(false);
        expect(hunt.opened[`ls ${path}`] && Buffer.from(hunt.found.find((item) => item.where === `ls ${path}`)?.hex ?? '', 'hex').toString(), `ls ${path}`).toBeFalsy();
      }
      expect(leaksOf(hunt.found.map((item) => Buffer.from(item.hex, 'hex').toString('utf8')).join('\n'), [otherKey])).toEqual([]);
    } finally {
      rmSync(join(dir, 'vault'), { recursive: true, force: true });
    }
  });

  it('refuses a function whose folder holds the home folder, which the sandbox would show', async () => {
    const result = await runFromShell([join(dir, 'hostile.ts'), '--args', '{}'], { env: { HOME: join(dir, 'data') } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^agent-secrets: the sandbox shows the function's folder to it, and .* is or holds your home folder; put the function in a folder of its own\n$/);
  });
});
