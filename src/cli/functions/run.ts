import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
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
 * works from any directory.
 */
const FUNCTION_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

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
  if (!FUNCTION_EXTENSIONS.has(extname(file))) throw new UsageError(`${options.file} is not a .ts or .js file`);

  const host = fileURLToPath(new URL('../../sdk/host.js', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, host], {
    env: { [AGENT_KEY_ENV]: options.agentKey, AGENT_SECRETS_URL: options.url },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send({ file, args: options.args, env: options.env });
  return waitForChild(child);
}
