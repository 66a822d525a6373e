/**
 * The README's quick start is one walk that runs as written, in order, on a fresh clone: this test
 * takes every `$ ` command of the README's fenced text/shell blocks, runs them one after another in
 * one bash session (so `export` and background jobs carry over, as in a terminal) against a real
 * server, and compares what each prints with the lines the README shows under it. Ids, keys,
 * passwords, times, ports and paths are normalised on both sides; a line `…` in the README stands for
 * any lines. A mismatch fails with a diff per command.
 *
 * One substitution: `npm install && npm start` cannot run inside the suite (the suite has installed
 * and built already, and it must not touch the repo's ./data). It is replaced by what it ends in, the
 * built service on a pseudo-terminal of its own (`agent-secrets serve`, startServe's terminal option)
 * over a throw-away data folder; the second terminal's step, pasting the `export` line it printed, is
 * done for the walk's shell. Every other command runs exactly as written, in the repo's folder.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../support/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START = 'npm install && npm start';
/** The mock APIs of examples/ listen here in the walk, as written in it. */
const MOCK_PORT = 8790;

interface WalkStep {
  command: string;
  expected: string[];
  /** Where the command is in the README, for messages. */
  line: number;
}

/** Every `$ ` command of the fenced text/shell blocks, with the lines shown under it. */
function walkOf(markdown: string): WalkStep[] {
  const steps: WalkStep[] = [];
  let inBlock = false;
  let shell = false;
  let current: WalkStep | undefined;
  for (const [index, line] of markdown.split('\n').entries()) {
    const fence = /^```\s*(\w*)/.exec(line);
    if (fence) {
      if (inBlock) current = undefined;
      else shell = ['', 'text', 'sh', 'shell', 'bash', 'console'].includes(fence[1] ?? '');
      inBlock = !inBlock;
      continue;
    }
    if (!inBlock || !shell) continue;
    if (line.startsWith('$ ')) {
      current = { command: line.slice(2), expected: [], line: index + 1 };
      steps.push(current);
    } else if (current && current.command.endsWith('\\') && current.expected.length === 0) {
      current.command += `\n${line}`;
    } else current?.expected.push(line);
  }
  return steps;
}

/** What differs from one machine and one run to the next, replaced by placeholders on both sides. */
function normalised(text: string): string {
  const lines = text
    .replace(/\r/g, '')
    .replace(/\b(agt|key|tok|usr|sec)_[0-9a-f]{16}\b/g, '$1_<id>')
    .replace(/\b(asp|ask)_[A-Za-z0-9_…-]+/g, '$1_<credential>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
    .replace(/^\[\d\d:\d\d:\d\d\.\d{3}\]/gm, '[<time>]')
    .replace(/^( {2}password {2})\S+$/gm, '$1<password>')
    .replace(/\brsv_[a-z0-9]+/g, 'rsv_<id>')
    .split('\n')
    .map((line) => line.trimEnd());
  while (lines[0] === '') lines.shift();
  while (lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

/** The README's lines, where a line `…` stands for any lines; else the actual text as it is. */
function matchedAgainst(expected: string, actual: string): string {
  const parts = expected.split(/^…$/m).map((part) => part.replace(/^\n|\n$/g, ''));
  if (parts.length === 1) return actual;
  let at = 0;
  for (const [i, part] of parts.entries()) {
    const found = i === parts.length - 1 ? (actual.endsWith(part) ? actual.length - part.length : -1) : actual.indexOf(part, at);
    if (found < at || (i === 0 && found !== 0 && part !== '')) return actual;
    at = found + part.length;
  }
  return expected;
}

/** One bash session for the whole walk, as the reader's second terminal. */
class Shell {
  private readonly bash: ChildProcessWithoutNullStreams;
  private stdout = '';
  private readonly out = mkdtempSync(join(tmpdir(), 'agent-secrets-readme-out-'));
  private step = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.bash.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.bash.stderr.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
  }

  /** Runs one command; a command sent to the background is ready once it has printed its first line. */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    const step = ++this.step;
    const file = join(this.out, String(step));
    const done = `__readme_step_done__ ${step}`;
    // The group runs in this shell (jobs and exports stay); what the command reads comes from its own
    // pipes or nothing, never from the script this shell is reading.
    this.bash.stdin.write(`{\n${command}\n} > '${file}' 2>&1 < /dev/null\necho '${done}'\n`);
    const started = Date.now();
    const background = /&\s*$/.test(command);
    while (!this.stdout.includes(done) || (background && (!existsSync(file) || statSync(file).size === 0))) {
      if (Date.now() - started > timeoutMs) throw new Error(`no end of "${command}" within ${timeoutMs} ms; the shell said: ${this.stdout}`);
      if (this.bash.exitCode !== null) throw new Error(`the walk's shell ended: ${this.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return readFileSync(file, 'utf8');
  }

  async close(): Promise<void> {
    if (this.bash.exitCode === null) {
      const ended = new Promise((resolve) => this.bash.once('exit', resolve));
      // Whatever the walk left in the background goes with it.
      this.bash.stdin.end('kill $(jobs -p) 2>/dev/null\nexit 0\n');
      await ended;
    }
    rmSync(this.out, { recursive: true, force: true });
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('the README walk', () => {
  const steps = walkOf(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  let data: string;
  let server: ServeProcess | undefined;
  let shell: Shell | undefined;

  beforeAll(() => {
    data = mkdtempSync(join(tmpdir(), 'agent-secrets-readme-'));
  });
  afterAll(async () => {
    await shell?.close();
    await server?.stop();
    rmSync(data, { recursive: true, force: true });
  });

  it('is one walk that starts with the start command', () => {
    expect(steps[0]?.command).toBe(START);
    expect(steps.filter((step) => step.command === START)).toHaveLength(1);
    expect(steps.length).toBeGreaterThan(10);
  });

  it('runs in order as written and prints what the README shows', { timeout: 240_000 }, async () => {
    expect(await portIsFree(MOCK_PORT), `the walk starts the example's mock APIs on port ${MOCK_PORT}, which is taken on this machine`).toBe(true);
    // The one substitution (see the top of this file): the built service on a terminal.
    server = await startServe(['--data', join(data, 'data')], { terminal: true, cwd: ROOT });
    const url = server.url;
    const asShown = (text: string) => normalised(text.split(url).join('http://127.0.0.1:8787').split(join(data, 'data')).join('/home/you/agent-secrets/data'));
    const exportLine = /^\s*(export AGENT_SECRETS_URL=\S+ AGENT_SECRETS_TOKEN=asp_\S+)\s*$/m.exec(server.output().replace(/\r/g, ''))?.[1];
    expect(exportLine, 'the first start prints an export line').toBeDefined();

    // npm's "new version available" notice would land in a command's output now and then: it is npm's, not ours.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' };
    for (const name of Object.keys(env)) if (name.startsWith('AGENT_SECRETS_') || name === 'PORT' || name === 'MOCK_APIS_PORT') delete env[name];
    shell = new Shell(env);
    await shell.run(exportLine ?? '');

    for (const step of steps) {
      const actual = asShown(step.command === START ? server.output() : await shell.run(step.command));
      const expected = normalised(step.expected.join('\n'));
      expect.soft(matchedAgainst(expected, actual), `README.md:${step.line}: $ ${step.command}`).toBe(expected);
    }
  });
});
