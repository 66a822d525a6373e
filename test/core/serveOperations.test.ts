/**
 * `serve`'s operations flags as an operator meets them: the systemd unit in docs/operations.md uses
 * only flags that exist, the metrics token file is checked like the master key file (one line, the
 * start refused, nothing of the file's content shown), and the documented metrics and alert rules
 * name metrics the real process exports.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLine, failedStart, outputOf, runCli, startServe, type ServeProcess } from '../support/processes.js';
import { parsePrometheusText } from '../support/promText.js';

const DOC = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
const CANARY = `canary${randomBytes(6).toString('hex')}`;

/** The fenced blocks of the doc in the given language. */
const blocks = (language: string): string[] => [...DOC.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1] ?? '');

/** The `agent-secrets serve` arguments of the unit's ExecStart, its continuation lines joined. */
function unitServeArgs(): string[] {
  const unit = blocks('ini').find((block) => block.includes('[Service]'));
  expect(unit, 'docs/operations.md shows a systemd unit').toBeDefined();
  const execStart = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit ?? '')?.[1] ?? '';
  const words = execStart.replace(/\\\n/g, ' ').trim().split(/\s+/);
  const serve = words.indexOf('serve');
  expect(words[serve - 1], execStart).toMatch(/bin\/agent-secrets\.js$/);
  return words.slice(serve + 1);
}

describe('the systemd unit in docs/operations.md', () => {
  it('gives serve only flags that serve has, each with a value where it takes one', async () => {
    const args = unitServeArgs();
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    const flags = args.filter((word) => word.startsWith('--'));
    expect(flags).toEqual(expect.arrayContaining(['--metrics-token-file', '--shutdown-timeout', '--data']));
    for (const flag of flags) {
      const option = new RegExp(`^\\s+${flag}( <[a-z]+>)?\\s`, 'm').exec(help.stdout);
      expect(option, `${flag} is not an option of serve`).not.toBeNull();
      const takesValue = option?.[1] !== undefined;
      const next = args[args.indexOf(flag) + 1];
      expect(takesValue ? next !== undefined && !next.startsWith('--') : true, `${flag} needs a value`).toBe(true);
    }
  });
});

describe('serve --metrics-token-file', () => {
  let dir: string;
  let server: ServeProcess | undefined;
  const token = `tok-${randomBytes(24).toString('base64url')}`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-metrics-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, content: string, mode = 0o600) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode);
    return path;
  };

  it('refuses to start, in one line that shows nothing of the file, on a file that is empty, open to others, of another shape or missing', async () => {
    const oneLine = 'must hold one line of 16 to 512 visible ASCII characters, no spaces \\(make one with: head -c 32 /dev/urandom \\| base64';
    const cases: Array<[string, string]> = [
      [file('empty', ''), 'is empty \\(make one with: head -c 32 /dev/urandom \\| base64 > \\S+ && chmod 600 \\S+\\)$'],
      [file('blank', '\n'), 'is empty'],
      [file('open', `${CANARY}-long-enough-token\n`, 0o644), 'is open to others \\(mode 644\\); run: chmod 600 \\S+$'],
      [file('short', 'short\n'), oneLine],
      [file('spaces', `${CANARY} with spaces\n`), oneLine],
      [file('lines', `${CANARY}-first-line\n${CANARY}-second-line\n`), oneLine],
      [join(dir, 'missing'), 'cannot be read$'],
    ];
    for (const [path, rule] of cases) {
      const output = await failedStart(['--data', join(dir, 'data-refused'), '--metrics-token-file', path]);
      expectOneLine(output, new RegExp(`^agent-secrets: metrics token file ${path} ${rule}`));
      expect(output).not.toContain(CANARY);
    }
    // Refused before storage was touched: no store was made.
    expect(() => readFileSync(join(dir, 'data-refused', 'agent-secrets.db'))).toThrow();
  });

  it('serves the documented metrics to the token holder only, and the alert rules name metrics it exports', async () => {
    server = await startServe(['--data', join(dir, 'data'), '--metrics-token-file', file('token', `${token}\n`), '--access-log']);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const answer = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    const families = parsePrometheusText(await answer.text());
    const exported = new Set([...families.values()].flatMap((family) => [family.name, ...family.samples.map((sample) => sample.name)]));
    const documented = new Set([...DOC.matchAll(/\bagent_secrets_[a-z_]+\b/g)].map((match) => match[0]));
    expect(documented.size).toBeGreaterThanOrEqual(11);
    expect([...documented].filter((name) => !exported.has(name))).toEqual([]);
    expect(server.output()).not.toContain(token);
    // --access-log: the scrape's line, under the id its answer carried.
    const id = answer.headers.get('x-request-id') ?? '';
    const line = (await outputOf(server, `"reqId":"${id}"`)).split('\n').find((text) => text.includes(`"reqId":"${id}"`));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ msg: 'request', method: 'GET', route: '/metrics', status: 200 });
  });
});
