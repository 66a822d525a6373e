import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { open as openFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { IntegrityError, open, seal } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/masterKey.js';
import { VaultError } from '../domain/errors.js';

/**
 * The backup file: a header in the clear, then the content as a series of sealed frames.
 *
 *   "agent-secrets backup\n" | u32 header length | header (JSON) | frames…
 *   frame = u32 length | AES-256-GCM sealed JSON lines (1 byte format | 12 bytes nonce | body | 16 bytes tag)
 *
 * The key is derived from the master key with HKDF-SHA256 and a random salt kept in the header, so a
 * backup is useless without the master key, and each backup has a key of its own. Every frame's
 * associated data binds it to the header (its SHA-256), its place in the file, and whether it is the
 * last one: an altered header, an altered, dropped, reordered or duplicated frame, or a cut-off file
 * fails to open. Frames keep memory bounded on both ends, whatever the size of the store.
 */
const MAGIC = Buffer.from('agent-secrets backup\n', 'utf8');
const FORMAT = 1;
const FRAME_TARGET = 1024 * 1024;
/** A frame is at most the target plus one row (a 64 KiB value, base64, with its fields). */
const FRAME_LIMIT = 8 * 1024 * 1024;
const HEADER_LIMIT = 64 * 1024;

export interface BackupHeader {
  format: number;
  createdAt: string;
  /** The master key the backup key is derived from (its fingerprint, as stored beside data keys). */
  masterKeyId: string;
  /** The schema the rows follow: the migrations applied to the store that was backed up. */
  migrations: string[];
  salt: string;
}

/** One line of a frame: a row of a table, or the closing summary. */
export type BackupRecord = { t: string; r: Record<string, unknown> } | { end: { counts: Record<string, number> } };

export function backupKey(master: MasterKey, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master.key, salt, 'agent-secrets/backup/v1', 32));
}

const frameAad = (headerDigest: string, index: number, last: boolean): string =>
  `agent-secrets/backup/v1/${headerDigest}/${index}/${last ? 'last' : 'more'}`;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Writes a backup to `<path>.partial` and renames it into place only when it is complete. */
export class BackupWriter {
  private lines: Buffer[] = [];
  private size = 0;
  private index = 0;
  private bytesWritten = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly key: Buffer,
    private readonly headerDigest: string,
  ) {}

  static async create(path: string, master: MasterKey, migrations: string[]): Promise<BackupWriter> {
    const salt = randomBytes(32);
    const header: BackupHeader = { format: FORMAT, createdAt: new Date().toISOString(), masterKeyId: master.id, migrations, salt: salt.toString('base64') };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    // Owner-only from the first byte: it is encrypted, but it is everything.
    const file = await openFile(`${path}.partial`, 'w', 0o600);
    await file.chmod(0o600); // in case a stale .partial of a crashed run was there with another mode
    const writer = new BackupWriter(file, path, backupKey(master, salt), createHash('sha256').update(headerBytes).digest('hex'));
    await writer.write(Buffer.concat([MAGIC, u32(headerBytes.length), headerBytes]));
    return writer;
  }

  async add(record: BackupRecord): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    this.lines.push(line);
    this.size += line.length;
    if (this.size >= FRAME_TARGET) await this.flush(false);
  }

  /** Seals what is left with the summary as the last frame, syncs, and puts the file in place. */
  async finish(counts: Record<string, number>): Promise<{ bytes: number }> {
    await this.add({ end: { counts } });
    await this.flush(true);
    await this.file.sync();
    await this.file.close();
    await rename(`${this.path}.partial`, this.path);
    return { bytes: this.bytesWritten };
  }

  /** Drops the unfinished file. */
  async abandon(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await unlink(`${this.path}.partial`).catch(() => undefined);
  }

  private async flush(last: boolean): Promise<void> {
    const sealed = seal(this.key, Buffer.concat(this.lines), frameAad(this.headerDigest, this.index, last));
    this.index += 1;
    this.lines = [];
    this.size = 0;
    await this.write(Buffer.concat([u32(sealed.length), sealed]));
  }

  private async write(bytes: Buffer): Promise<void> {
    await this.file.write(bytes);
    this.bytesWritten += bytes.length;
  }
}

const damaged = (why: string): VaultError =>
  new VaultError('invalid_input', `The backup file is not intact (${why}); nothing was restored.`);

/** Reads a backup's header without opening anything else (to say which master key it needs). */
export async function readBackupHeader(path: string): Promise<BackupHeader> {
  const file = await openFile(path, 'r');
  try {
    return (await readHeader(file)).header;
  } finally {
    await file.close();
  }
}

async function readExactly(file: FileHandle, position: number, length: number): Promise<Buffer | undefined> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) return done === 0 ? undefined : buffer.subarray(0, done);
    done += bytesRead;
  }
  return buffer;
}

async function readHeader(file: FileHandle): Promise<{ header: BackupHeader; digest: string; end: number }> {
  const start = await readExactly(file, 0, MAGIC.length + 4);
  if (!start || start.length < MAGIC.length + 4 || !start.subarray(0, MAGIC.length).equals(MAGIC)) throw damaged('not an agent-secrets backup');
  const length = start.readUInt32BE(MAGIC.length);
  if (length > HEADER_LIMIT) throw damaged('header too long');
  const bytes = await readExactly(file, start.length, length);
  if (!bytes || bytes.length < length) throw damaged('cut off in its header');
  let header: BackupHeader;
  try {
    header = JSON.parse(bytes.toString('utf8')) as BackupHeader;
  } catch {
    throw damaged('unreadable header');
  }
  if (header.format !== FORMAT) throw damaged(`format ${String(header.format)}, this build reads format ${FORMAT}`);
  if (typeof header.masterKeyId !== 'string' || typeof header.salt !== 'string' || !Array.isArray(header.migrations)) throw damaged('incomplete header');
  return { header, digest: createHash('sha256').update(bytes).digest('hex'), end: start.length + length };
}

/**
 * The records of a backup, frame by frame, each checked before any of its records is given out. The
 * caller restores inside one transaction, so a file found damaged halfway leaves nothing behind.
 */
export async function* readBackup(path: string, master: MasterKey): AsyncGenerator<BackupRecord> {
  const file = await openFile(path, 'r');
  try {
    const { header, digest, end } = await readHeader(file);
    if (header.masterKeyId !== master.id) {
      throw new VaultError(
        'invalid_input',
        `This backup was made with master key ${header.masterKeyId}; the configured master key is ${master.id}. Restore with the key the backup was made with.`,
      );
    }
    const key = backupKey(master, Buffer.from(header.salt, 'base64'));
    let position = end;
    let index = 0;
    for (;;) {
      const prefix = await readExactly(file, position, 4);
      if (!prefix) throw damaged('cut off: its last frame is missing');
      if (prefix.length < 4) throw damaged('cut off inside a frame');
      const length = prefix.readUInt32BE(0);
      if (length > FRAME_LIMIT) throw damaged('a frame is too long');
      const sealed = await readExactly(file, position + 4, length);
      if (!sealed || sealed.length < length) throw damaged('cut off inside a frame');
      position += 4 + length;
      const last = (await readExactly(file, position, 1)) === undefined;
      let plain: Buffer;
      try {
        plain = open(key, sealed, frameAad(digest, index, last), `backup frame ${index}`);
      } catch (error) {
        if (error instanceof IntegrityError) throw damaged(`frame ${index} failed its integrity check: altered, moved, or cut off`);
        throw error;
      }
      index += 1;
      for (const line of plain.toString('utf8').split('\n')) {
        if (line !== '') yield JSON.parse(line) as BackupRecord;
      }
      if (last) return;
    }
  } finally {
    await file.close();
  }
}
