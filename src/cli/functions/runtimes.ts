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
function lookedUpAbove(folder: string): { existing: string[]; all: string[] } {
  const all: string[] = [];
  for (let dir = dirname(folder); ; dir = dirname(dir)) {
    for (const name of ['package.json', 'tsconfig.json', 'node_modules']) all.push(join(dir, name));
    if (dirname(dir) === dir) break;
  }
  return { existing: all.filter((path) => existsSync(path)), all };
}

export async function hostCommand(file: string, options: { tmp: string }): Promise<FunctionCommand> {
  const folder = dirname(file);
  return file.endsWith('.py') ? pythonCommand(folder) : nodeCommand(folder, options.tmp);
}

/**
 * Node with its permission model as a second wall inside the sandbox: the function reads only the
 * paths it was shown and writes only in its temporary folder (so not /proc/self/environ, nor a file
 * the sandbox shows by mistake), and starts no program. tsx's module hooks run in a worker thread,
 * hence --allow-worker; the sandbox stays the wall that holds.
 */
function nodeCommand(folder: string, tmp: string): FunctionCommand {
  const node = realpathSync(process.execPath);
  const host = fileURLToPath(new URL('../../sdk/host.js', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const above = lookedUpAbove(folder);
  const readOnly = [node, ...PACKAGE_PATHS.filter((path) => existsSync(path)), ...above.existing];
  const readable = new Set([folder, ...readOnly, ...readOnly.filter((path) => existsSync(path)).map((path) => realpathSync(path)), tmp]);
  // A package.json that is not there must read as missing, not as forbidden, when Node looks for one.
  for (const path of [...readable]) for (let dir = path; dirname(dir) !== dir; dir = dirname(dir)) readable.add(join(dirname(dir), 'package.json'));
  for (const path of above.all) readable.add(path);
  const permission = [
    '--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning',
    '--experimental-permission', '--allow-worker',
    ...[...readable].map((path) => `--allow-fs-read=${path}`),
    `--allow-fs-write=${tmp}`,
  ];
  return { program: node, args: [...permission, '--import', tsx, host], folder, readOnly };
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
    readOnly: [dirname(host), where.executable, where.prefix, where.basePrefix, ...lookedUpAbove(folder).existing.filter((path) => !path.endsWith('node_modules'))],
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
