import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../configError.js';

/**
 * The sandbox of `agent-secrets run` (SPEC section 5: a function holds the agent's capability and
 * nothing more). One job: turn "run this program over this function" into the command line that runs
 * it inside Linux namespaces with bubblewrap, or say in one line why that cannot be done here.
 *
 * Inside, the function sees:
 * - its own processes only (a pid namespace and a fresh /proc: no other process's environment or
 *   command line, not even its caller's);
 * - a filesystem of the system's programs and libraries, a few files of /etc that name resolution and
 *   TLS need, the paths the runtime reads (read-only), a private /tmp, and a minimal /dev; none of
 *   the store's files, no home folder, no master key file;
 * - an empty environment (nothing of the caller's);
 * - a new session (no writing into the caller's terminal with TIOCSTI), no capabilities, its own IPC
 *   and host name; it dies with the runner.
 * The network stays the machine's: functions call outside APIs.
 */

/** What the runner wants run: the program (absolute), its arguments, and what it reads. */
export interface FunctionCommand {
  program: string;
  args: string[];
  /** The function's folder: shown read-only, and the working directory. */
  folder: string;
  /** Other files and folders the runtime and the function read, shown read-only where they are. */
  readOnly: string[];
}

/** How to start it: a program, its arguments and its (complete) environment. */
export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Descriptor 1 of the function is its descriptor 2: whatever it writes anywhere is relayed, masked,
 * to standard error, and standard output carries only the result (which travels over the channel).
 * The shell also drops the PWD that bubblewrap sets, so the environment is empty; it then becomes
 * the runtime (exec), leaving no process of its own.
 */
const STDOUT_TO_STDERR = 'unset PWD; exec "$0" "$@" 1>&2';
const SHELL = '/bin/sh';

/** What --no-sandbox gives up, said where it is refused and where it is used. */
export const WITHOUT_SANDBOX = 'the function can then read whatever your user can: other processes\' environments and command lines (a shell\'s AGENT_SECRETS_TOKEN or master key), your files, the master key file and the store\'s files';

/** System folders shown read-only; on merged-/usr systems most are symbolic links into /usr. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The files of /etc that programs need to resolve names, find libraries and check certificates. */
const ETC_FILES = [
  'resolv.conf', 'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf', 'services', 'protocols', 'networks',
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'ssl', 'ca-certificates', 'ca-certificates.conf', 'pki',
  'localtime', 'timezone', 'mime.types', 'passwd', 'group', 'alternatives', 'os-release',
];

/** The embedded store's files (src/cli/storage.ts names them); hidden wherever a shown folder holds them. */
const STORE_FILES = ['agent-secrets.db', 'agent-secrets.db-wal', 'agent-secrets.db-shm', 'agent-secrets.db-journal', 'master.key'];

/** The program's full path on this shell's PATH. */
export function findOnPath(program: string): string | undefined {
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

/** Whether `path` is `folder` or inside it. */
const within = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

/** The command line that runs `fn` in the sandbox; a UsageError of one line when it cannot be made here. */
export function sandboxedCommand(fn: FunctionCommand, options: { cwd: string }): LaunchPlan {
  if (process.platform !== 'linux') throw cannot('the sandbox needs Linux namespaces');
  const bwrap = findOnPath('bwrap');
  if (!bwrap) throw cannot('bwrap (bubblewrap, e.g. apt-get install bubblewrap) is not on PATH');

  const shown = [fn.folder, ...fn.readOnly].map((path) => resolve(path));
  const home = safeRealpath(homedir());
  const shared = new Set([tmpdir(), '/tmp', '/var/tmp', '/dev/shm'].map((path) => safeRealpath(path) ?? path));
  for (const path of shown) {
    const real = safeRealpath(path) ?? path;
    if (real === '/' || (home !== undefined && within(home, real))) {
      throw new UsageError(`the sandbox shows the function's folder to it, and ${path} is or holds your home folder; put the function in a folder of its own`);
    }
    if (shared.has(real)) {
      throw new UsageError(`the sandbox shows the function's folder to it, and ${path} is a temporary folder every program shares; put the function in a folder of its own`);
    }
  }

  const args = [
    '--die-with-parent', '--new-session',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-user-try',
    '--cap-drop', 'ALL', '--clearenv',
  ];
  for (const path of SYSTEM_PATHS) args.push(...systemPath(path));
  for (const name of ETC_FILES) args.push('--ro-bind-try', join('/etc', name), join('/etc', name));
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  const bound = new Set<string>();
  for (const path of shown) args.push(...readOnly(path, bound, shown));
  // Later mounts cover earlier ones: a store inside a shown folder is replaced by nothing.
  for (const hidden of storeFilesWithin(shown, [join(options.cwd, 'data'), ...foldersHoldingStores(fn.folder)])) {
    args.push(...(hidden.folder ? ['--tmpfs', hidden.path] : ['--ro-bind', '/dev/null', hidden.path]));
  }
  args.push('--chdir', fn.folder, '--', SHELL, '-c', STDOUT_TO_STDERR, fn.program, ...fn.args);
  // bwrap's own process stays in the sandbox as its first process: it gets no environment either.
  return { command: bwrap, args, env: {}, cwd: '/' };
}

/** The same command without the sandbox (--no-sandbox): the runner's other protections still hold. */
export function unsandboxedCommand(fn: FunctionCommand, env: Record<string, string>): LaunchPlan {
  return { command: SHELL, args: ['-c', STDOUT_TO_STDERR, fn.program, ...fn.args], env, cwd: fn.folder };
}

function cannot(why: string): UsageError {
  return new UsageError(`cannot sandbox the function: ${why}; or run it with --no-sandbox, but ${WITHOUT_SANDBOX}`);
}

function safeRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function systemPath(path: string): string[] {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return [];
  }
  if (stat.isSymbolicLink()) return ['--symlink', readlinkSync(path), path];
  return stat.isDirectory() ? ['--ro-bind', path, path] : [];
}

/** Shows `path` read-only where it is, following a symbolic link to where it points. */
function readOnly(path: string, bound: Set<string>, shown: readonly string[]): string[] {
  const real = safeRealpath(path);
  if (real === undefined) return [];
  const args: string[] = [];
  if (!bound.has(real) && !SYSTEM_PATHS.some((system) => within(real, system))) {
    bound.add(real);
    args.push('--ro-bind', real, real);
  }
  // A link inside another shown folder is already there (and a read-only folder takes no new link).
  if (real !== path && !bound.has(path) && !shown.some((other) => other !== path && within(path, other))) {
    bound.add(path);
    args.push('--symlink', real, path);
  }
  return args;
}

/** How much of the function's folder is searched for stores: deeper or larger, the run is refused. */
const SEARCH = { depth: 8, entries: 50_000 };
/** Folders a store is never made in, and that are too large to search: dependencies and history. */
const NOT_SEARCHED = new Set(['node_modules', '.git', '__pycache__', '.venv', 'venv']);

/**
 * Every folder under the function's folder (itself included) that holds a file named as the store's
 * are: a store made anywhere below it (`--data proj/store`), not just in `data`, would be shown to the
 * function. Symbolic links are not followed: what they point to is not shown unless bound. A folder
 * too large to search is refused in one line rather than shown unsearched.
 */
function foldersHoldingStores(root: string): string[] {
  const found: string[] = [];
  let seen = 0;
  const visit = (folder: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    seen += entries.length;
    if (seen > SEARCH.entries || depth > SEARCH.depth) {
      throw new UsageError(`the sandbox shows the function's folder to it, and ${root} is too large to check for the store's files (more than ${SEARCH.entries} entries or ${SEARCH.depth} levels); put the function in a folder of its own`);
    }
    if (entries.some((entry) => entry.isFile() && STORE_FILES.includes(entry.name))) found.push(folder);
    for (const entry of entries) if (entry.isDirectory() && !NOT_SEARCHED.has(entry.name)) visit(join(folder, entry.name), depth + 1);
  };
  visit(root, 0);
  return found;
}

/** The store's files (and folders holding them) that would be visible through a shown path. */
function storeFilesWithin(shown: readonly string[], candidates: readonly string[]): Array<{ path: string; folder: boolean }> {
  const found = new Map<string, boolean>();
  const functionFolder = safeRealpath(shown[0] ?? '');
  const visible = (path: string) => shown.some((root) => within(path, root) || within(safeRealpath(path) ?? path, safeRealpath(root) ?? root));
  for (const candidate of candidates) {
    const real = safeRealpath(candidate);
    if (real === undefined || !visible(candidate)) continue;
    const files = STORE_FILES.map((name) => join(real, name)).filter((file) => existsSync(file));
    if (files.length === 0) continue;
    // A folder holding the store is hidden whole, unless it is the function's own folder.
    if (real !== functionFolder) found.set(real, true);
    else for (const file of files) found.set(file, false);
  }
  // Nothing inside a hidden folder needs hiding again.
  return [...found].filter(([path]) => ![...found].some(([other, folder]) => folder && other !== path && within(path, other))).map(([path, folder]) => ({ path, folder }));
}
