import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer credentials: personal access tokens, agent keys and console sessions. A credential is
 * `<kind>_<id>_<secret>`: the id (64 bits, not secret) finds the row, the secret (256 bits) proves
 * possession. Only a SHA-256 of the whole credential is stored; a fast hash is right here because the
 * secret is random and long, unlike a password.
 */
export type CredentialKind = 'asp' | 'ask' | 'ass';

export interface IssuedCredential {
  id: string;
  token: string;
  hash: Buffer;
}

const ID_HEX = 16;
const SECRET_BYTES = 32;
const SHAPE = /^(asp|ask|ass)_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function issueCredential(kind: CredentialKind): IssuedCredential {
  const id = randomBytes(ID_HEX / 2).toString('hex');
  const token = `${kind}_${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { id, token, hash: hashCredential(token) };
}

// One-shot hash: it runs on every authenticated call, including every run-time read.
export const hashCredential = (token: string): Buffer => hash('sha256', token, 'buffer');

/** The id part of a well-formed credential of the expected kind, or undefined for anything else. */
export function credentialId(token: string, kind: CredentialKind): string | undefined {
  const match = SHAPE.exec(token);
  return match && match[1] === kind ? match[2] : undefined;
}

/** Constant-time check that `token` is the credential whose hash was stored. */
export function credentialMatches(token: string, storedHash: Uint8Array): boolean {
  const presented = hashCredential(token);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}

/** A random one-time password a person can type: 20 characters from an unambiguous alphabet (~115 bits). */
export function oneTimePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  // Rejecting bytes at or above the largest multiple of the alphabet's size keeps characters equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  for (const byte of randomBytes(40)) {
    if (byte < limit && out.length < 20) out += alphabet[byte % alphabet.length];
  }
  return out.length === 20 ? out : oneTimePassword();
}
