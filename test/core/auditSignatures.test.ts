/**
 * SPEC section 5: the audit trail cannot be rewritten by someone who can write the database but does
 * not hold the master key. Each attack below is what such a writer does straight in the database with
 * the published formula (docs/audit.md); each passes the hash chain alone and is caught by a signature,
 * or, for a chain cut back to an older signed head, by a witness outside the store.
 */
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChainVerifier, GENESIS_HASH, chainHash, signedHeadStatement, type AuditRecord } from '../../src/domain/audit.js';
import type { AuditEventsTable } from '../../src/store/schema.js';
import { CLI, runCli } from '../support/processes.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

type Event = AuditEventsTable;

/** The database writer's tool: renumbers the events from 1, recomputes every link and hash with the published formula. */
function rechain(events: readonly Event[], stripSignaturesFrom?: number): Event[] {
  let prev = GENESIS_HASH;
  return events.map((event, i) => {
    const seq = i + 1;
    const { prev_hash: _prev, hash: _hash, signature, ...fields } = event;
    const record: AuditRecord = { ...fields, seq };
    const hash = chainHash(prev, record);
    const row: Event = { ...record, prev_hash: prev, hash, signature: stripSignaturesFrom !== undefined && seq >= stripSignaturesFrom ? null : signature };
    prev = hash;
    return row;
  });
}

/** What the old, unkeyed check says of a chain: nothing wrong. */
const hashChainAloneBreak = (events: readonly Event[]) => {
  const verifier = new ChainVerifier();
  for (const event of events) verifier.add(event);
  const last = events[events.length - 1];
  return verifier.finish({ seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH });
};

const firstSignedFrom = (events: readonly Event[], seq: number) => events.find((event) => event.seq >= seq && event.signature !== null)?.seq;

describe.each(DATABASES)('the signed audit chain on %s', (kind) => {
  let h: Harness;
  let accountId: string;
  let pristine: Event[];
  let pristineHead: { seq: number; hash: string };
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-secrets-auditsig-'));
    h = await startHarness(kind);
    env = { AGENT_SECRETS_URL: h.url, AGENT_SECRETS_TOKEN: h.admin.token };
    const agent = await h.agentWithKey(h.admin.token, 'reader');
    await h.call('POST', '/api/v1/secrets', { token: h.admin.token, body: { name: 'k', value: 'CANARY-auditsig-v', agents: ['reader'] } });
    // One commit each: read, reveal, read, read (the reads of a PostgreSQL instance go the one-statement way once quiet).
    await h.call('GET', '/runtime/v1/secrets/k', { token: agent.key });
    await h.call('POST', '/api/v1/secrets/k/reveal', { token: h.admin.token, body: {} });
    for (let i = 0; i < 4; i++) await h.call('GET', '/runtime/v1/secrets/k', { token: agent.key });
    await h.vault.audit.flush();
    accountId = (await db().selectFrom('accounts').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
    pristine = await rows();
    pristineHead = await head();
    expect(pristine.length).toBeGreaterThan(10);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Each test starts from the untouched chain.
  beforeEach(async () => {
    await h.vault.audit.flush();
    await db().deleteFrom('audit_events').where('account_id', '=', accountId).execute();
    await db().insertInto('audit_events').values(pristine).execute();
    await db().updateTable('audit_heads').set(pristineHead).where('account_id', '=', accountId).execute();
  });

  const db = () => h.vault.store.db;
  const rows = () => db().selectFrom('audit_events').selectAll().where('account_id', '=', accountId).orderBy('seq').execute();
  const head = () => db().selectFrom('audit_heads').select(['seq', 'hash']).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  const verify = async () => (await h.call('GET', '/api/v1/audit/verify', { token: h.admin.token })).body;
  /** Writes a forged chain in place of the account's, and moves the head to its end. */
  const store = async (events: Event[]) => {
    await db().deleteFrom('audit_events').where('account_id', '=', accountId).execute();
    await db().insertInto('audit_events').values(events).execute();
    const last = events[events.length - 1];
    await db().updateTable('audit_heads').set({ seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH }).where('account_id', '=', accountId).execute();
  };
  const indexOf = (action: string) => pristine.findIndex((event) => event.action === action);
  const witness = (file: string) => runCli(['audit', 'heads', '--out', file], { env });

  it('every commit signs its head, on the read writer and on changes; the chain verifies, signed from its first event', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, checked: pristine.length, signedFrom: 1, firstBroken: null });
    expect(pristine[0]?.action).toBe('audit_key.create');
    // The four reads made one after another are four commits: each event is a signed head.
    expect(pristine.slice(-4).map((event) => [event.action, event.signature !== null])).toEqual(Array(4).fill(['secret.read', true]));
    expect(report.signatures).toBe(pristine.filter((event) => event.signature !== null).length);
    expect(pristine[pristine.length - 1]?.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  });

  it('a writer thread started anew (SQLite) gets the audit keys again and signs on; the chain still verifies', async () => {
    const agent = await h.agentWithKey(h.admin.token, `restarted-${Date.now()}`);
    await h.call('PUT', '/api/v1/secrets/k/access', { token: h.admin.token, body: { agents: ['reader', agent.name] } });
    // Stops the thread (on PostgreSQL there is none, and this changes nothing); the next batch starts another.
    await h.vault.store.readEvents.close();
    expect((await h.call('GET', '/runtime/v1/secrets/k', { token: agent.key })).status).toBe(200);
    const last = (await rows()).at(-1);
    expect(last).toMatchObject({ action: 'secret.read', agent_name: agent.name });
    expect(last?.signature).not.toBeNull();
    expect(await verify()).toMatchObject({ ok: true, firstBroken: null });
  });

  it('a reveal and a read removed, the rest renumbered, every hash recomputed with the published formula and the head moved: verify fails at the first signed head after the edit', async () => {
    const reveal = indexOf('secret.reveal');
    const forged = rechain(pristine.filter((_, i) => i !== reveal && i !== reveal + 1));
    // The hash chain alone (all that was checked before) finds nothing.
    expect(hashChainAloneBreak(forged)).toBeUndefined();
    await store(forged);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq: firstSignedFrom(forged, reveal + 1), reason: 'bad_signature' });
  });

  it('the same with the signatures after the edit removed: the chain end is reported unsigned, from the last good signature on', async () => {
    const reveal = indexOf('secret.reveal');
    const forged = rechain(
      pristine.filter((_, i) => i !== reveal && i !== reveal + 1),
      reveal + 1,
    );
    await store(forged);
    const lastGood = [...forged].reverse().find((event) => event.signature !== null)?.seq ?? 0;
    expect((await verify()).firstBroken).toMatchObject({ seq: lastGood + 1, reason: 'unsigned' });
  });

  it('the same, and then the service commits on top of the forged head: its own new signature names the gap', async () => {
    const reveal = indexOf('secret.reveal');
    const forged = rechain(
      pristine.filter((_, i) => i !== reveal && i !== reveal + 1),
      reveal + 1,
    );
    await store(forged);
    // The service signs the head it extends (the forged one), and says which head that was.
    expect((await h.call('POST', '/api/v1/agents', { token: h.admin.token, body: { name: `after-forgery-${Date.now()}` } })).status).toBe(201);
    expect((await verify()).firstBroken).toMatchObject({ seq: forged.length + 1, reason: 'bad_signature' });
  });

  it('one signature removed from the middle of the chain, nothing else changed: the next signed head no longer follows and fails', async () => {
    const signed = pristine.filter((event) => event.signature !== null).map((event) => event.seq);
    const middle = signed[Math.floor(signed.length / 2)] ?? 0;
    await db().updateTable('audit_events').set({ signature: null }).where('account_id', '=', accountId).where('seq', '=', middle).execute();
    expect((await verify()).firstBroken).toMatchObject({ seq: signed[signed.indexOf(middle) + 1], reason: 'bad_signature' });
  });

  it('an event re-attributed to another actor, with every hash after it recomputed, is caught at the next signed head', async () => {
    const reveal = indexOf('secret.reveal');
    const forged = rechain(pristine.map((event, i) => (i === reveal ? { ...event, actor_id: null, actor_name: 'someone-else@example.com' } : event)));
    expect(hashChainAloneBreak(forged)).toBeUndefined();
    await store(forged);
    expect((await verify()).firstBroken).toMatchObject({ seq: firstSignedFrom(forged, reveal + 1), reason: 'bad_signature' });
  });

  it('the last event dropped and the head rewound to the signed head before it: verify alone cannot tell, verify --against a witness file from audit heads does', async () => {
    const file = join(dir, `witness-${Date.now()}.jsonl`);
    expect((await witness(file)).code).toBe(0);
    // One more commit of one event, witnessed.
    expect((await h.call('POST', '/api/v1/agents', { token: h.admin.token, body: { name: `witnessed-${Date.now()}` } })).status).toBe(201);
    const witnessed = await witness(file);
    expect(witnessed.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { seq: number; hash: string; signature: string; previous: number });
    expect(lines.map((line) => line.seq)).toEqual([pristine.length, pristine.length + 1]);
    expect(lines[1]?.previous).toBe(pristine.length);

    // The writer drops that event and moves the head back to the one before, which is signed.
    await db().deleteFrom('audit_events').where('account_id', '=', accountId).where('seq', '=', pristine.length + 1).execute();
    await db().updateTable('audit_heads').set(pristineHead).where('account_id', '=', accountId).execute();
    expect(await verify()).toMatchObject({ ok: true, firstBroken: null });
    expect((await runCli(['audit', 'verify'], { env })).code).toBe(0);

    const against = await runCli(['audit', 'verify', '--against', file], { env });
    expect(against.code).toBe(1);
    expect(against.stdout).toContain(`BROKEN at event ${pristine.length + 1}: the chain ends at event ${pristine.length}, but a witness saw event ${pristine.length + 1} signed`);
    const json = JSON.parse((await runCli(['audit', 'verify', '--against', file, '--json'], { env })).stdout) as { firstBroken: { reason: string } };
    expect(json.firstBroken.reason).toBe('truncated');
  });

  it('a history rewritten after a witness saw it: verify --against names the first witnessed head that is no longer on the chain', async () => {
    const file = join(dir, `witness-rewrite-${Date.now()}.jsonl`);
    expect((await witness(file)).code).toBe(0);
    const reveal = indexOf('secret.reveal');
    // Rewritten, signatures stripped, then the service signs on top: the witnessed head is gone from the chain.
    await store(rechain(pristine.map((event, i) => (i === reveal ? { ...event, outcome: 'denied' } : event)), reveal + 1));
    expect((await h.call('POST', '/api/v1/agents', { token: h.admin.token, body: { name: `after-rewrite-${Date.now()}` } })).status).toBe(201);
    const against = await runCli(['audit', 'verify', '--against', file, '--json'], { env });
    expect(against.code).toBe(1);
    expect((JSON.parse(against.stdout) as { firstBroken: unknown }).firstBroken).toMatchObject({ seq: pristine.length, reason: 'diverged' });
  });

  it('audit heads --follow streams every new signed head as a JSON line, each checkable with the public key alone', async () => {
    const file = join(dir, `follow-${Date.now()}.jsonl`);
    const child = spawn(process.execPath, [CLI, 'audit', 'heads', '--follow', '--interval', '0.2', '--out', file], { env: { ...process.env, ...env }, stdio: 'ignore' });
    try {
      const linesOf = () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
      const waitFor = async (count: number) => {
        for (let i = 0; i < 100 && linesOf().length < count; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      };
      await waitFor(1);
      expect((await h.call('POST', '/api/v1/agents', { token: h.admin.token, body: { name: `follow-a-${Date.now()}` } })).status).toBe(201);
      await waitFor(2);
      expect((await h.call('POST', '/api/v1/agents', { token: h.admin.token, body: { name: `follow-b-${Date.now()}` } })).status).toBe(201);
      await waitFor(3);
      const heads = linesOf().map((line) => JSON.parse(line) as { account_id: string; seq: number; hash: string; previous: number | null; signature: string });
      expect(heads.length).toBeGreaterThanOrEqual(3);
      const publicKey = createPublicKey((await h.call('GET', '/api/v1/audit/public-key', { token: h.admin.token })).body.publicKey as string);
      const { verify: check } = await import('node:crypto');
      for (const line of heads) {
        expect(check(null, Buffer.from(signedHeadStatement(line.account_id, line.seq, line.hash, line.previous)), publicKey, Buffer.from(line.signature, 'base64'))).toBe(true);
      }
      expect(heads.map((line) => line.seq)).toEqual([...heads.map((line) => line.seq)].sort((a, b) => a - b));
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('offline: verify --file --public-key passes an intact export and catches one rewritten with recomputed hashes; the export\'s own key proves nothing', async () => {
    const exportFile = join(dir, `export-${Date.now()}.jsonl`);
    const keyFile = join(dir, `key-${Date.now()}.pem`);
    const exported = await runCli(['audit', 'export'], { env });
    writeFileSync(exportFile, exported.stdout);
    writeFileSync(keyFile, (await runCli(['audit', 'public-key'], { env })).stdout);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);

    const intact = await runCli(['audit', 'verify', '--file', exportFile, '--public-key', keyFile], { env: {} });
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^ok: \d+ events in the file link up/);
    expect(intact.stdout).toMatch(/\d+ signed heads checked with audit key [0-9a-f]{32}; signed from the first event/);
    expect(intact.stdout).not.toContain('WARNING');

    // The writer's edit of the export: the reveal removed, the rest renumbered and rehashed.
    const [header, ...events] = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as Event & Record<string, unknown>);
    const reveal = events.findIndex((event) => event.action === 'secret.reveal');
    const forged = rechain(events.filter((_, i) => i !== reveal));
    writeFileSync(exportFile, `${[header, ...forged].map((line) => JSON.stringify(line)).join('\n')}\n`);
    const caught = await runCli(['audit', 'verify', '--file', exportFile, '--public-key', keyFile], { env: {} });
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain(`BROKEN at event ${firstSignedFrom(forged, reveal + 1) ?? 0}: event ${firstSignedFrom(forged, reveal + 1) ?? 0}'s signature does not verify`);

    // The writer signs the forged export with a key of their own and puts that key in the header:
    // the header's key says "ok" (with the warning), the auditor's key does not.
    const theirs = generateKeyPairSync('ed25519');
    let lastSigned: number | null = null;
    const resigned = forged.map((event) => {
      if (event.signature === null) return event;
      const signature = sign(null, Buffer.from(signedHeadStatement(event.account_id, event.seq, event.hash, lastSigned)), theirs.privateKey).toString('base64');
      lastSigned = event.seq;
      return { ...event, signature };
    });
    const theirHeader = { ...header, public_key: theirs.publicKey.export({ format: 'pem', type: 'spki' }).toString() };
    writeFileSync(exportFile, `${[theirHeader, ...resigned].map((line) => JSON.stringify(line)).join('\n')}\n`);
    const selfSigned = await runCli(['audit', 'verify', '--file', exportFile], { env: {} });
    expect(selfSigned.code).toBe(0);
    expect(selfSigned.stdout).toContain("WARNING: checked with the public key in the export's own header, which proves only that the file is consistent, not who wrote it");
    const withAuditorsKey = await runCli(['audit', 'verify', '--file', exportFile, '--public-key', keyFile], { env: {} });
    expect(withAuditorsKey.code).toBe(1);
    expect(withAuditorsKey.stdout).toMatch(/BROKEN at event \d+: event \d+'s signature does not verify/);

    // And the live service, checked against a key that is not its own, is refused the same way.
    const theirKeyFile = join(dir, `their-key-${Date.now()}.pem`);
    writeFileSync(theirKeyFile, theirHeader.public_key);
    const live = await runCli(['audit', 'verify', '--public-key', theirKeyFile], { env });
    expect(live.code).toBe(1);
    expect(live.stdout).toMatch(/^BROKEN at event 1: the service signs with audit key [0-9a-f]{32}, not the key you gave/);
  });

  it('the audit key never leaves the service: the public key is all an auditor gets, and no log line holds key material', async () => {
    const { body } = await h.call('GET', '/api/v1/audit/public-key', { token: h.admin.token });
    expect(body.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect(body.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    const sealed = await db().selectFrom('audit_keys').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
    const logs = h.logLines.join('');
    expect(logs).not.toContain('PRIVATE KEY');
    expect(logs).not.toContain(Buffer.from(sealed.sealed_key).toString('base64'));
    expect(JSON.stringify(await rows())).not.toContain('PRIVATE');
  });
});
