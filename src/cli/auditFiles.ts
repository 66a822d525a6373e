import { createReadStream, readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parsePublicKey, publicKeyFingerprint, signatureCheck } from '../crypto/auditSigning.js';
import {
  AUDIT_EXPORT_FORMAT,
  ChainVerifier,
  signedHeadStatement,
  type AuditExportHeader,
  type ChainBreak,
  type ChainedAuditRecord,
  type WitnessedHead,
} from '../domain/audit.js';
import { UsageError } from './configError.js';

/**
 * Checking an audit trail away from the service (docs/audit.md): an export (a header line, then one
 * event per line), against an auditor's public key, and against a witness file of signed heads that
 * `audit heads` wrote. Only the public key is needed, which can check signatures and cannot make them.
 */

/** Where the key that checked the signatures came from: only a key the auditor holds proves anything. */
export type KeySource = 'given' | 'export' | 'service' | 'none';

export interface FileChainReport {
  ok: boolean;
  checked: number;
  /** The last event: the end of the chain as the export has it. */
  last?: { seq: number; hash: string };
  signedFrom: number | null;
  signatures: number;
  /** Fingerprint of the key the signatures were checked with; null when none was. */
  publicKey: string | null;
  keySource: KeySource;
  /** Signed heads of the witness file checked against the chain. */
  witnessed: number;
  firstBroken: ChainBreak | null;
}

export function readPublicKeyFile(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`public key file ${file} cannot be read`);
  }
  try {
    return parsePublicKey(text);
  } catch (error) {
    throw new UsageError(`public key file ${file} ${(error as Error).message}`);
  }
}

/** One signed head per line, as `audit heads` writes it; every signature is checked with the key. */
export interface WitnessLine extends WitnessedHead {
  previous: number | null;
  signature: string | null;
  at?: string | null;
}

/** Reads a witness file, keeping the account's heads; a line that is not a head signed by `publicKey` is refused. */
export function readWitnessFile(file: string, accountId: string, publicKey: KeyObject | undefined): WitnessLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`witness file ${file} cannot be read`);
  }
  const check = publicKey ? signatureCheck(publicKey) : undefined;
  const heads: WitnessLine[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let head: WitnessLine;
    try {
      head = JSON.parse(line) as WitnessLine;
    } catch {
      throw new UsageError(`${file} line ${index + 1} is not JSON`);
    }
    if (typeof head.account_id !== 'string' || !Number.isSafeInteger(head.seq) || typeof head.hash !== 'string') {
      throw new UsageError(`${file} line ${index + 1} is not a signed head (account_id, seq, hash, previous, signature)`);
    }
    if (head.account_id !== accountId) continue;
    if (check && (typeof head.signature !== 'string' || !check(signedHeadStatement(head.account_id, head.seq, head.hash, head.previous ?? null), head.signature))) {
      throw new UsageError(`${file} line ${index + 1} (event ${head.seq}) is not a head signed by this public key: it is no evidence`);
    }
    heads.push(head);
  }
  return heads;
}

const isHeader = (value: Record<string, unknown>): value is AuditExportHeader & Record<string, unknown> => value.export === AUDIT_EXPORT_FORMAT;

export interface VerifyLinesOptions {
  /** The auditor's public key; without it the export's own key is used (and said to prove nothing). */
  publicKey?: KeyObject | undefined;
  /** A witness file of signed heads (`audit heads`). */
  against?: string | undefined;
  /** Names the source in errors. */
  name: string;
}

/** Verifies an export given as lines (a file, or the service's export stream). */
export async function verifyExportLines(lines: AsyncIterable<string>, options: VerifyLinesOptions): Promise<FileChainReport> {
  let verifier: ChainVerifier | undefined;
  let key: KeyObject | undefined;
  let keySource: KeySource = 'none';
  let witnessed = 0;
  let last: { seq: number; hash: string } | undefined;
  let lineNumber = 0;

  const start = (header: AuditExportHeader | undefined, accountId: string | undefined): ChainVerifier => {
    if (options.publicKey) {
      key = options.publicKey;
      keySource = 'given';
    } else if (header?.public_key) {
      try {
        key = parsePublicKey(header.public_key);
      } catch (error) {
        throw new UsageError(`${options.name}: the header's public key ${(error as Error).message}`);
      }
      keySource = 'export';
    }
    let heads: WitnessLine[] = [];
    if (options.against !== undefined) {
      if (accountId === undefined) return new ChainVerifier({ checkSignature: key && signatureCheck(key) });
      heads = readWitnessFile(options.against, accountId, key);
      witnessed = heads.length;
    }
    return new ChainVerifier({ checkSignature: key && signatureCheck(key), witnessed: heads });
  };

  const report = (broken: ChainBreak | undefined, chain: ChainVerifier): FileChainReport => ({
    ok: broken === undefined,
    checked: chain.checked,
    ...(last ? { last } : {}),
    signedFrom: chain.signedFrom,
    signatures: chain.signaturesChecked,
    publicKey: key ? publicKeyFingerprint(key) : null,
    keySource,
    witnessed,
    firstBroken: broken ?? null,
  });

  let header: AuditExportHeader | undefined;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new UsageError(`${options.name} line ${lineNumber} is not JSON`);
    }
    if (verifier === undefined && isHeader(value)) {
      header = value;
      continue;
    }
    const event = value as unknown as ChainedAuditRecord;
    if (header && event.account_id !== header.account_id) throw new UsageError(`${options.name} line ${lineNumber} belongs to another account than its header`);
    verifier ??= start(header, header?.account_id ?? event.account_id);
    const broken = verifier.add(event);
    if (broken) return report(broken, verifier);
    last = { seq: event.seq, hash: event.hash };
  }
  verifier ??= start(header, header?.account_id);
  return report(verifier.finish(), verifier);
}

export function fileLines(file: string): AsyncIterable<string> {
  const input = createReadStream(file, 'utf8');
  return createInterface({ input, crlfDelay: Infinity });
}

/** The service's export stream (text chunks) as lines. */
export function streamLines(chunks: AsyncIterable<string>): AsyncIterable<string> {
  return createInterface({ input: Readable.from(chunks), crlfDelay: Infinity });
}
