import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MasterKey } from './masterKey.js';

/**
 * Envelope encryption. Each account has data keys; each data key is wrapped (AES-256-GCM) by the
 * master key; each secret version is sealed (AES-256-GCM, fresh 96-bit nonce) by a data key, with
 * associated data naming the account, secret and version, so a ciphertext moved anywhere else fails
 * to open. Sealed form: 1 byte format version | 12 bytes nonce | ciphertext | 16 bytes tag.
 */
const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class IntegrityError extends Error {
  override name = 'IntegrityError';
  constructor(what: string) {
    super(`${what} failed its integrity check (wrong key, or the stored bytes were altered or moved)`);
  }
}

export function seal(key: Buffer, plaintext: Buffer, associatedData: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT]), nonce, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Uint8Array, associatedData: string, what: string): Buffer {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== FORMAT) throw new IntegrityError(what);
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new IntegrityError(what);
  }
}

export const dataKeyAad = (accountId: string, dataKeyId: string): string => `agent-secrets/data-key/v1/${accountId}/${dataKeyId}`;

export const secretVersionAad = (accountId: string, secretId: string, version: number): string =>
  `agent-secrets/secret-version/v1/${accountId}/${secretId}/${version}`;

/** An account's SSO client secret: bound to the account and to that purpose, so no other sealed bytes pass for it. */
export const ssoClientSecretAad = (accountId: string): string => `agent-secrets/sso-client-secret/v1/${accountId}`;

export interface WrappedDataKey {
  id: string;
  accountId: string;
  wrapped: Buffer;
  masterKeyId: string;
  /** The wrapping by the master key being retired, while a rotation is under way (see src/vault/rekey.ts). */
  previous?: { wrapped: Buffer; masterKeyId: string } | undefined;
}

/**
 * Holds the master keys and the data keys opened so far. The first master key is current: it wraps new
 * data keys. Any further ones only open (a process that rotates holds the outgoing and the incoming
 * key). A data key id names the same bytes forever (rotation makes new ids; re-wrapping changes only
 * the wrapping), so remembering opened keys can never serve anything stale.
 */
export class Keyring {
  private readonly opened = new Map<string, Buffer>();
  private readonly masters: readonly MasterKey[];

  constructor(master: MasterKey | readonly MasterKey[]) {
    this.masters = Array.isArray(master) ? master : [master as MasterKey];
    if (this.masters.length === 0) throw new Error('a keyring needs a master key');
  }

  private get current(): MasterKey {
    return this.masters[0] as MasterKey;
  }

  get masterKeyId(): string {
    return this.current.id;
  }

  newDataKey(accountId: string, id: string): { wrappedKey: WrappedDataKey; key: Buffer } {
    const key = randomBytes(32);
    const wrapped = seal(this.current.key, key, dataKeyAad(accountId, id));
    this.opened.set(id, key);
    return { wrappedKey: { id, accountId, wrapped, masterKeyId: this.current.id }, key };
  }

  /** The opened data key if this process has opened it before. */
  cached(dataKeyId: string): Buffer | undefined {
    return this.opened.get(dataKeyId);
  }

  /**
   * Opens a data key with whichever of its wrappings a master key here made: during a master key
   * rotation a row carries the new wrapping and the old one, so instances on either key keep working.
   */
  openDataKey(row: WrappedDataKey): Buffer {
    const known = this.opened.get(row.id);
    if (known) return known;
    const wrappings = [{ wrapped: row.wrapped, masterKeyId: row.masterKeyId }, ...(row.previous ? [row.previous] : [])];
    for (const wrapping of wrappings) {
      const master = this.masters.find((candidate) => candidate.id === wrapping.masterKeyId);
      if (!master) continue;
      const key = open(master.key, wrapping.wrapped, dataKeyAad(row.accountId, row.id), `data key ${row.id}`);
      this.opened.set(row.id, key);
      return key;
    }
    const by = wrappings.map((wrapping) => wrapping.masterKeyId).join(' or ');
    throw new IntegrityError(`data key ${row.id} (wrapped by master key ${by}, not the configured ${this.masters.map((m) => m.id).join(', ')})`);
  }

  /** The data key wrapped anew under `master` (which need not be one of this keyring's keys). */
  rewrap(row: WrappedDataKey, master: MasterKey): Buffer {
    return seal(master.key, this.openDataKey(row), dataKeyAad(row.accountId, row.id));
  }
}
