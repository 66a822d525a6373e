import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Files that even root cannot write (chattr +i): tests run as root, where file modes stop nothing, and
 * this is how they take storage away from a running SQLite service (a read-only mount, a full disk).
 */
export function setImmutable(files: string[], on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', ...files]);
}

/** Whether chattr +i works here (ext4 and the like, CAP_LINUX_IMMUTABLE): a write to such a file fails even as root. */
function immutableFilesWork(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'agent-secrets-chattr-'));
  const file = join(dir, 'probe');
  writeFileSync(file, 'x');
  try {
    setImmutable([file], true);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return false;
  }
  let refused = false;
  try {
    appendFileSync(file, 'y');
  } catch {
    refused = true;
  }
  setImmutable([file], false);
  rmSync(dir, { recursive: true, force: true });
  return refused;
}

let works: boolean | undefined;

/**
 * Tests that need such files fail (never skip) where chattr +i does not work, so a green run always
 * means the read-only paths were proven.
 */
export function requireImmutableFiles(): void {
  works ??= immutableFilesWork();
  if (!works) throw new Error(`chattr +i does not work in ${tmpdir()} (needs ext4 or the like and CAP_LINUX_IMMUTABLE): the read-only store cannot be tested here`);
}
