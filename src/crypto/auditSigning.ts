import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { signedHeadStatement, type SignatureCheck } from '../domain/audit.js';
import { open, seal } from './keyring.js';

/**
 * The audit key: an Ed25519 key per account that signs the head of its audit chain at every commit
 * (SPEC section 5). Its private key is sealed like a secret value, under the account's data key, so it
 * rests on the master key through the keyring: master key rotation re-wraps the data key above it and
 * leaves it as it is, data key rotation leaves it under the data key that sealed it, and a backup
 * carries it sealed. The public key is never read from the database: it is derived from the private
 * key once opened, so a database writer cannot swap in a key of their own.
 */

export const auditKeyAad = (accountId: string): string => `agent-secrets/audit-key/v1/${accountId}`;

export function newAuditKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function sealAuditKey(dataKey: Buffer, accountId: string, privateKey: KeyObject): Buffer {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    return seal(dataKey, der, auditKeyAad(accountId));
  } finally {
    der.fill(0);
  }
}

export function openAuditKey(dataKey: Buffer, accountId: string, sealed: Uint8Array): KeyObject {
  const der = open(dataKey, sealed, auditKeyAad(accountId), `the audit key of account ${accountId}`);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** The public key as an auditor keeps it: SPKI PEM (what `agent-secrets audit public-key` prints). */
export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** A short name for a public key: SHA-256 of its SPKI DER, hex, the first 32 digits. */
export function publicKeyFingerprint(key: KeyObject | string): string {
  const publicKey = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 32);
}

/** Reads an auditor's public key (PEM); throws a plain Error with the reason when it is not an Ed25519 public key. */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('is not a PEM public key (save what "agent-secrets audit public-key" prints)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`is a ${key.asymmetricKeyType ?? 'unknown'} key, not the Ed25519 key of an audit trail`);
  return key;
}

/** The verifier's side: checks signed heads with a public key only. */
export function signatureCheck(publicKey: KeyObject): SignatureCheck {
  return (statement, signature) => {
    const bytes = Buffer.from(signature, 'base64');
    if (bytes.length !== 64) return false;
    return verify(null, Buffer.from(statement, 'utf8'), publicKey, bytes);
  };
}

/**
 * The opened audit keys of the accounts this process writes for, each a KeyObject made once: signing
 * a head is then one Ed25519 signature (tens of microseconds), once per account and commit. It is the
 * store's head signer (store/audit.ts): the store asks it to sign and knows nothing else of it.
 */
export class HeadSigningKeys {
  /** null: the benchmark's switch (bench/server.ts --no-signing) leaves this account's heads unsigned. */
  private readonly keys = new Map<string, KeyObject | null>();

  add(accountId: string, privateKey: KeyObject | null): void {
    this.keys.set(accountId, privateKey);
  }

  has(accountId: string): boolean {
    return this.keys.has(accountId);
  }

  signHead(accountId: string, head: { seq: number; hash: string }, previous: number | null): string | null {
    const key = this.keys.get(accountId);
    if (key === undefined) throw new Error(`the audit key of account ${accountId} is not loaded here`);
    if (key === null) return null;
    return sign(null, Buffer.from(signedHeadStatement(accountId, head.seq, head.hash, previous), 'utf8'), key).toString('base64');
  }

  /** The key as postMessage carries it to a writer thread (KeyObjects are cloneable): the thread signs with it itself. */
  transferableKey(accountId: string): unknown {
    return this.keys.get(accountId);
  }
}
