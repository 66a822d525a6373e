import { readFileSync, statSync } from 'node:fs';

/**
 * The text of a file that holds a credential (the master key, the metrics token), refused with one
 * line from `fail` when it cannot be read or is open to anyone but its owner.
 */
export function readOwnerOnlyFile(path: string, what: string, fail: (message: string) => Error): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw fail(`${what} ${path} cannot be read`);
  }
  if ((mode & 0o077) !== 0) {
    throw fail(`${what} ${path} is open to others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw fail(`${what} ${path} cannot be read`);
  }
}
