import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../configError.js';
import { FUNCTION_ENVS, type FunctionEnv } from '../../sdk/conv.js';
import { AGENT_KEY_ENV } from './agentKey.js';
import { waitForChild } from './signals.js';

/**
 * `agent-secrets run`: one function file in a child process (src/sdk/host.ts) that holds only the
 * agent key and the service URL: no management token, no master key, nothing else of this shell's
 * environment. The key travels in the child's environment, never in its argv (visible in `ps`);
 * the arguments travel over IPC. TypeScript runs through tsx, resolved from this package so that it
 * works from any directory. A .py file runs the same way under python3 with the one-file Python
 * client (clients/python/conv_secrets.py) as its host.
 */
const FUNCTION_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.py']);

export function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError('--args must be JSON, e.g. --args \'{"guests": 2}\'');
  }
}

export function parseEnv(text: string): FunctionEnv {
  if (!(FUNCTION_ENVS as readonly string[]).includes(text)) throw new InvalidArgumentError(`--env must be one of ${FUNCTION_ENVS.join(', ')}`);
  return text as FunctionEnv;
}

export async function runFunctionFile(options: { file: string; args: unknown; env: FunctionEnv; agentKey: string; url: string }): Promise<number> {
  const file = resolve(options.file);
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`no function file at ${options.file}`);
  if (!FUNCTION_EXTENSIONS.has(extname(file))) throw new UsageError(`${options.file} is not a .ts, .js or .py file`);
  const env = { [AGENT_KEY_ENV]: options.agentKey, AGENT_SECRETS_URL: options.url };

  if (extname(file) === '.py') {
    const python = findOnPath('python3');
    if (!python) throw new UsageError('python3 is not on PATH; it runs .py functions');
    const host = fileURLToPath(new URL('../../../clients/python/conv_secrets.py', import.meta.url));
    // Arguments on standard input, not argv: they can be personal data, and argv shows in `ps`.
    const child = spawn(python, [host, file, '--args', '-', '--env', options.env], { env, stdio: ['pipe', 'inherit', 'inherit'] });
    child.stdin.end(JSON.stringify(options.args));
    return waitForChild(child);
  }

  const host = fileURLToPath(new URL('../../sdk/host.js', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, host], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send({ file, args: options.args, env: options.env });
  return waitForChild(child);
}

/** The program's full path, looked up on this shell's PATH (the child's environment has none). */
function findOnPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return undefined;
}
