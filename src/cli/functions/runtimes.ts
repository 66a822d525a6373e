import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../configError.js';
import { CHANNEL_FD } from '../../sdk/hostChannel.js';
import { CREDENTIAL_VARIABLES } from './agentKey.js';
import { findOnPath, type FunctionCommand } from './sandbox.js';

/**
 * The program that hosts a function file, and every path it reads: TypeScript and JavaScript under
 * this Node with tsx and src/sdk/host.ts, Python under the machine's python3 with the one-file client
 * (clients/python/conv_secrets.py --channel-fd 3). Both talk to the runner over descriptor 3.
 */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What of this package a function and its host read: the built SDK and host, the SDK's source, tsx. */
const PACKAGE_PATHS = ['package.json', 'dist', 'src', 'clients', 'node_modules'].map((name) => join(PACKAGE_ROOT, name));

/** The package.json, tsconfig.json and node_modules of each folder above the function's (Node's and tsx's lookups). */
function lookedUpAbove(folder: string): string[] {
  const found: string[] = [];
  for (let dir = dirname(folder); ; dir = dirname(dir)) {
    for (const name of ['package.json', 'tsconfig.json', 'node_modules']) if (existsSync(join(dir, name))) found.push(join(dir, name));
    if (dirname(dir) === dir) return found;
  }
}

export async function hostCommand(file: string): Promise<FunctionCommand> {
  const folder = dirname(file);
  return file.endsWith('.py') ? pythonCommand(folder) : nodeCommand(folder);
}

/**
 * Node with tsx, so that TypeScript runs without a build step. (Node's permission model is not used as
 * a second wall: tsx needs --allow-worker for its module hooks and --allow-child-process for esbuild's
 * service, and with child processes allowed any function steps around it by starting a program.)
 */
function nodeCommand(folder: string): FunctionCommand {
  const node = realpathSync(process.execPath);
  const host = fileURLToPath(new URL('../../sdk/host.js', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const readOnly = [node, ...PACKAGE_PATHS.filter((path) => existsSync(path)), ...lookedUpAbove(folder)];
  return { program: node, args: ['--import', tsx, host], folder, readOnly };
}

/** Python: the interpreter python3 on PATH stands for (a pyenv or asdf shim is a script that needs a home). */
async function pythonCommand(folder: string): Promise<FunctionCommand> {
  const python3 = findOnPath('python3');
  if (!python3) throw new UsageError('python3 is not on PATH; it runs .py functions');
  const where = await pythonInstallation(python3);
  const host = join(PACKAGE_ROOT, 'clients', 'python', 'conv_secrets.py');
  return {
    program: where.executable,
    args: ['-B', host, '--channel-fd', String(CHANNEL_FD)],
    folder,
    readOnly: [dirname(host), where.executable, where.prefix, where.basePrefix, ...lookedUpAbove(folder).filter((path) => !path.endsWith('node_modules'))],
  };
}

function pythonInstallation(python3: string): Promise<{ executable: string; prefix: string; basePrefix: string }> {
  const env = { ...process.env };
  for (const name of CREDENTIAL_VARIABLES) delete env[name];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python3, ['-I', '-c', 'import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix]))'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', () => reject(new UsageError(`${python3} does not start; it runs .py functions`)));
    child.on('close', (code) => {
      try {
        const [executable, prefix, basePrefix] = JSON.parse(out) as string[];
        if (code !== 0 || !executable || !prefix || !basePrefix) throw new Error('no answer');
        resolvePromise({ executable: resolve(executable), prefix, basePrefix });
      } catch {
        reject(new UsageError(`${python3} did not say where it is installed; it runs .py functions`));
      }
    });
  });
}
