import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The real command, as installed: bin/agent-secrets.js over the built dist/. */
export const CLI = fileURLToPath(new URL('../../bin/agent-secrets.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: the machine's, minus anything of ours that could leak in from the caller. */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('AGENT_SECRETS_')) delete env[name];
  return { ...env, NO_COLOR: '1', ...extra };
}

export function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(options.env ?? {}), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `agent-secrets serve` as its own process and waits until it says where it listens. With
 * `terminal`, on a pseudo-terminal of its own (util-linux `script`): the only place a first start shows
 * the first admin's credentials (SPEC S20); `script` ends the service it runs when it is told to end.
 */
export function startServe(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; terminal?: boolean } = {}): Promise<ServeProcess> {
  const serve = [CLI, 'serve', '--port', '0', ...args];
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const [program, programArgs] = options.terminal ? ['script', ['-qefc', [process.execPath, ...serve].map(quote).join(' '), '/dev/null']] : [process.execPath, serve];
  return new Promise((resolve, reject) => {
    const child = spawn(program, programArgs, { env: childEnv(options.env ?? {}), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`serve did not start in time:\n${output}`)), 20_000);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill(options.terminal ? 'SIGTERM' : 'SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // A log stream (this pipe) says it in JSON only; a terminal in a plain line.
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"agent-secrets is listening"/.exec(output) ?? /agent-secrets listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          url: match[1],
          child,
          output: () => output,
          stop: (signal = 'SIGTERM') =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill(signal);
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => fail(new Error(`serve exited with ${code}:\n${output}`)));
  });
}

/**
 * The first admin's way in after a first start with no terminal (SPEC S20), as an operator follows it:
 * `users reset-password` on storage, a one-time sign-in, a password of their own, then a personal
 * access token. Returns the token.
 */
export async function firstAdminToken(url: string, storageArgs: string[], options: { env?: Record<string, string | undefined>; email?: string } = {}): Promise<string> {
  const email = options.email ?? 'admin@example.com';
  const reset = await runCli(['users', 'reset-password', email, '--json', ...storageArgs], { env: options.env ?? {} });
  if (reset.code !== 0) throw new Error(`users reset-password failed: ${reset.stderr}`);
  const { password } = JSON.parse(reset.stdout) as { password: string };
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (login.status !== 200) throw new Error(`one-time sign-in failed: ${login.status}`);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const headers = { 'content-type': 'application/json', cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '', 'x-csrf-token': csrfToken };
  const changed = await fetch(`${url}/api/v1/auth/password`, { method: 'POST', headers, body: JSON.stringify({ currentPassword: password, newPassword: `first admin ${Math.random().toString(36).slice(2)}` }) });
  if (changed.status !== 200) throw new Error(`password change failed: ${changed.status}`);
  const token = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'first admin' }) });
  if (token.status !== 201) throw new Error(`token failed: ${token.status}`);
  return ((await token.json()) as { token: string }).token;
}

/**
 * Waits until a serve process has printed `text`: its log lines (pino, written asynchronously) may
 * reach the pipe after the "listening" line that startServe waits for.
 */
export async function outputOf(server: ServeProcess, text: string, timeoutMs = 5000): Promise<string> {
  for (let waited = 0; !server.output().includes(text) && waited < timeoutMs; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return server.output();
}

/** Starts `serve` and expects it to stop before listening; answers what it printed. */
export async function failedStart(args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const server = await startServe(args, { env });
    await server.stop('SIGKILL');
    throw new Error(`serve started when it should have refused to:\n${server.output()}`);
  } catch (error) {
    const match = /^serve exited with (\d+):\n([\s\S]*)$/.exec((error as Error).message);
    if (!match) throw error;
    expect(Number(match[1])).not.toBe(0);
    return match[2] ?? '';
  }
}

export function expectOneLine(output: string, pattern: RegExp) {
  const lines = output.trim().split('\n');
  expect(lines, output).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(output).not.toMatch(/\n\s+at /);
}
