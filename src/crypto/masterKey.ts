import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readOwnerOnlyFile } from './ownerOnlyFile.js';

/**
 * The master key wraps every account's data keys and never enters the database. It comes from a file
 * (32 random bytes, base64, one line, readable by its owner only) or from the environment.
 */
export interface MasterKey {
  /** A fingerprint stored beside each wrapped data key, so rotation knows what is wrapped by what. */
  readonly id: string;
  readonly key: Buffer;
}

export const MASTER_KEY_ENV = 'AGENT_SECRETS_MASTER_KEY';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

export function masterKeyFromBytes(key: Buffer): MasterKey {
  const id = createHmac('sha256', key).update('agent-secrets master key id').digest('hex').slice(0, 16);
  return { id, key };
}

/** Parses the one-line base64 form; `source` names where it came from in the error. */
export function parseMasterKey(text: string, source: string): MasterKey {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (!/^[A-Za-z0-9+/]{43}=$/.test(line)) {
    throw new MasterKeyError(
      `${source} must hold 32 random bytes, base64-encoded on one line (make one with: head -c 32 /dev/urandom | base64)`,
    );
  }
  return masterKeyFromBytes(Buffer.from(line, 'base64'));
}

export function readMasterKeyFile(path: string): MasterKey {
  const text = readOwnerOnlyFile(path, 'master key file', (message) => new MasterKeyError(message));
  return parseMasterKey(text, `master key file ${path}`);
}

/** Creates a new master key file with mode 0600 (its folder 0700 when this makes it). */
export function createMasterKeyFile(path: string): MasterKey {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return masterKeyFromBytes(key);
}
