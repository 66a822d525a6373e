/**
 * Terminal control characters that others put into names, descriptions, values and audit fields are
 * shown, never obeyed, by the CLI: escaped in what it prints for people (also into a file), and on a
 * real terminal (a pty made by `script`) in everything, while a pipe still gets a revealed value exact.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeTerminalControls } from '../../src/cli/terminal.js';
import { startHarness, type Harness } from '../support/harness.js';
import { CLI, runCli } from '../support/processes.js';

// OSC 52 (write the clipboard), a CSI colour, the one-character CSI (U+009B), a carriage return that
// overwrites the line, BEL, and a right-to-left override.
const HOSTILE = 'ok\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[31mred\u009b2J\rfake\u202egnp.exe';
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('escaping terminal controls', () => {
  it('shows each control as an escape and keeps line feeds, tabs and ordinary text', () => {
    expect(escapeTerminalControls('a\tb\nc')).toBe('a\tb\nc');
    expect(escapeTerminalControls('\u001b[31m')).toBe('\\x1b[31m');
    expect(escapeTerminalControls('x\u009by\u202ez\r')).toBe('x\\x9by\\u202ez\\x0d');
    expect(escapeTerminalControls('ünïcødé 😀')).toBe('ünïcødé 😀');
  });
});

describe('the CLI beside hostile text', () => {
  let h: Harness;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness('sqlite');
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_TOKEN: h.admin.token };
    const created = await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'hostile', description: HOSTILE, value: HOSTILE } });
    expect(created.status).toBe(201);
  });
  afterAll(async () => h?.close());

  it('escapes a description in `secrets get`, also into a pipe', async () => {
    const got = await runCli(['secrets', 'get', 'hostile'], { env });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).not.toMatch(RAW_CONTROLS);
    expect(got.stdout).not.toContain('\r');
    expect(got.stdout).toContain('ok\\x1b]52;c;');
  });

  it('escapes audit fields in `audit list`', async () => {
    // An address may hold C1 controls and overrides: the audit trail names its user as the actor.
    const email = 'eve\u009b2J\u202emoc@example.com';
    const password = 'canary-terminal-password';
    expect((await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email, role: 'admin', password } })).status).toBe(201);
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email, password } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const changed = await h.call('PATCH', '/api/v1/secrets/hostile', { headers: { cookie, 'x-csrf-token': login.body.csrfToken }, body: { value: HOSTILE } });
    expect(changed.status).toBe(200);
    const listed = await runCli(['audit', 'list', '--secret', 'hostile'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('eve\\x9b2j\\u202emoc@example.com'); // addresses are kept lower-cased
    expect(listed.stdout).not.toMatch(RAW_CONTROLS);
  });

  it('gives a pipe the revealed value byte for byte', async () => {
    const revealed = await runCli(['secrets', 'reveal', 'hostile'], { env });
    expect(revealed.stdout).toBe(`${HOSTILE}\n`);
  });

  /** The CLI on a pty of its own, made by util-linux's `script`, as a person's terminal would run it. */
  const onTerminal = (args: string[]): Promise<{ status: number | null; stdout: string }> =>
    new Promise((resolve, reject) => {
      const command = [process.execPath, CLI, ...args].map((part) => `'${part}'`).join(' ');
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout }));
    });

  it('on a real terminal, shows a revealed value and a description without obeying them', async () => {
    for (const args of [['secrets', 'reveal', 'hostile'], ['secrets', 'get', 'hostile']]) {
      const run = await onTerminal(args);
      expect(run.status).toBe(0);
      // The pty turns each line feed into CR LF; every other control must arrive escaped.
      const shown = run.stdout.replace(/\r\n/g, '\n');
      expect(shown, args.join(' ')).not.toMatch(RAW_CONTROLS);
      expect(shown).not.toContain('\r');
      expect(shown).toContain('\\x1b]52;c;');
      expect(shown).toContain('\\u202egnp.exe');
    }
  });
});
