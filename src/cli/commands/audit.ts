import { appendFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError } from 'commander';
import { parsePublicKey, publicKeyFingerprint, signatureCheck } from '../../crypto/auditSigning.js';
import { signedHeadStatement, type ChainReport, type SignedHead } from '../../domain/audit.js';
import { apiClient, type ApiClient } from '../api.js';
import { fileLines, readPublicKeyFile, streamLines, verifyExportLines, type FileChainReport } from '../auditFiles.js';
import { emit, printTable } from '../output.js';
import { environmentOption } from './environments.js';

/** The audit trail over the HTTP API (AGENT_SECRETS_URL, AGENT_SECRETS_TOKEN): list, export, verify, its public key and signed heads. */

const seconds = (text: string): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return value;
};

async function servicePublicKey(api: ApiClient): Promise<KeyObject> {
  const { publicKey } = await api.request<{ publicKey: string }>('GET', '/api/v1/audit/public-key');
  return parsePublicKey(publicKey);
}

const signedFromNote = (signedFrom: number | null): string =>
  signedFrom === null ? 'no signed head' : signedFrom > 1 ? `signed from event ${signedFrom} (events before it were written before signing began, and are covered as they stood then)` : 'signed from the first event';

function printLive(report: ChainReport, given: KeyObject | undefined): void {
  if (report.firstBroken) {
    process.stdout.write(`BROKEN at event ${report.firstBroken.seq}: ${report.firstBroken.message} (${report.checked} events before it are intact)\n`);
    return;
  }
  process.stdout.write(`ok: ${report.checked} events, chain intact up to event ${report.head.seq} (hash ${report.head.hash})\n`);
  process.stdout.write(`   ${report.signatures} signed heads checked with audit key ${report.publicKey}; ${signedFromNote(report.signedFrom)}\n`);
  if (!given) process.stdout.write('   (checked by the service with its own key: to check it yourself, keep "audit public-key" and run "audit verify --against FILE --public-key KEY")\n');
}

function printFile(report: FileChainReport, source: string): void {
  if (report.firstBroken) {
    process.stdout.write(`BROKEN at event ${report.firstBroken.seq}: ${report.firstBroken.message} (${report.checked} events before it are intact)\n`);
  } else {
    process.stdout.write(`ok: ${report.checked} events ${source} link up; the last is event ${report.last?.seq ?? 0} (hash ${report.last?.hash ?? '-'})\n`);
    if (report.keySource === 'none') process.stdout.write('   signatures NOT checked: give --public-key FILE (what "agent-secrets audit public-key" printed)\n');
    else process.stdout.write(`   ${report.signatures} signed heads checked with audit key ${report.publicKey}; ${signedFromNote(report.signedFrom)}\n`);
    if (report.witnessed > 0) process.stdout.write(`   ${report.witnessed} witnessed signed heads are all on the chain\n`);
  }
  if (report.keySource === 'export') {
    process.stdout.write(
      "   WARNING: checked with the public key in the export's own header, which proves only that the file is consistent, not who wrote it:\n" +
        '   whoever could rewrite the events could write that key too. Verify with --public-key FILE, a key you obtained and kept yourself.\n',
    );
  }
}

export function auditCommands(program: Command, api: () => ApiClient = () => apiClient()): Command {
  const audit = program.command('audit').description('the audit trail: list, export, verify (signed hash chain), public key, signed heads');
  const auditFilters = (command: Command) =>
    command
      .option('--secret <name>')
      .option('--agent <agent>')
      .option('--actor <actor>')
      .option('--action <action>', 'e.g. secret.read, secret.access_set')
      .option('--outcome <outcome>', 'success, denied, not_found or failed')
      .addOption(environmentOption('events in this environment: reads by its keys, changes to its override'))
      .option('--since <time>', 'ISO-8601 UTC')
      .option('--until <time>', 'ISO-8601 UTC');
  type AuditFlags = Record<string, string | boolean | undefined>;
  const auditPages = async function* (flags: AuditFlags, limit: number) {
    let before: number | null = null;
    do {
      const query = new URLSearchParams();
      for (const key of ['secret', 'agent', 'actor', 'action', 'outcome', 'since', 'until']) {
        const value = flags[key];
        if (typeof value === 'string') query.set(key, value);
      }
      if (typeof flags.env === 'string') query.set('environment', flags.env);
      query.set('limit', String(limit));
      if (before !== null) query.set('before', String(before));
      const page: { events: Array<Record<string, unknown>>; next: number | null } = await api().request('GET', `/api/v1/audit?${query}`);
      yield page.events;
      before = page.next;
    } while (before !== null);
  };
  auditFilters(audit.command('list').description('recent events, newest first'))
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'JSON output')
    .action(async (flags: AuditFlags & { limit: string }) => {
      const first = await auditPages(flags, Math.min(Number(flags.limit) || 50, 1000)).next();
      const events = first.value ?? [];
      emit(flags.json === true, events, (rows) =>
        printTable(
          rows.map((e) => ({ ...e, who: (e.actor as { name?: string }).name, version: e.version ?? '', env: e.environment ?? '-' })),
          [
            ['at', 'AT'],
            ['who', 'ACTOR'],
            ['action', 'ACTION'],
            ['secret', 'SECRET'],
            ['version', 'V'],
            ['agent', 'AGENT'],
            ['env', 'ENV'],
            ['outcome', 'OUTCOME'],
          ],
        ),
      );
    });
  audit
    .command('export')
    .description('every event of the account in chain order, as JSON lines with prev_hash, hash and signature, after a header line (docs/audit.md)')
    .action(async () => {
      const response = await api().stream('/api/v1/audit/export');
      for await (const chunk of response) process.stdout.write(chunk);
    });

  audit
    .command('verify')
    .description('check the hash chain and every signed head; --file: an export, without the service; --against: heads a witness recorded')
    .option('--file <file>', 'verify an export file (JSON lines) instead of the live trail')
    .option('--public-key <file>', 'the audit public key you keep (what "audit public-key" printed) to check the signatures with')
    .option('--against <file>', 'a witness file of signed heads ("audit heads --out FILE"): each must still be on the chain')
    .option('--json', 'JSON output')
    .action(async (flags: { file?: string; publicKey?: string; against?: string; json?: boolean }) => {
      const given = flags.publicKey === undefined ? undefined : readPublicKeyFile(flags.publicKey);
      if (flags.file === undefined && flags.against === undefined) {
        // The service walks its chain with its own key; a key given here must be that key.
        const report = await api().request<ChainReport>('GET', '/api/v1/audit/verify');
        if (given && report.publicKey !== publicKeyFingerprint(given)) {
          report.ok = false;
          report.firstBroken = {
            seq: 1,
            reason: 'bad_signature',
            message: `the service signs with audit key ${report.publicKey}, not the key you gave (${publicKeyFingerprint(given)})`,
          };
        }
        emit(flags.json, report, (r) => printLive(r, given));
        if (!report.ok) process.exitCode = 1;
        return;
      }
      let report: FileChainReport;
      if (flags.file !== undefined) {
        report = await verifyExportLines(fileLines(flags.file), { publicKey: given, against: flags.against, name: flags.file });
      } else {
        // Live, against a witness: the export as it stands now, checked here with the key you gave, else the service's.
        const client = api();
        const publicKey = given ?? (await servicePublicKey(client));
        report = await verifyExportLines(streamLines(await client.stream('/api/v1/audit/export')), { publicKey, against: flags.against, name: 'the export' });
        if (!given) report.keySource = 'service';
      }
      emit(flags.json, report, (r) => printFile(r, flags.file === undefined ? 'of the live trail' : 'in the file'));
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('public-key')
    .description("the account's audit public key (PEM): keep it apart from the service; it checks signatures and cannot make them")
    .option('--json', 'JSON output: {"accountId", "publicKey", "fingerprint"}')
    .action(async (flags: { json?: boolean }) => {
      const key = await api().request<{ accountId: string; publicKey: string; fingerprint: string }>('GET', '/api/v1/audit/public-key');
      emit(flags.json, key, (k) => process.stdout.write(k.publicKey));
    });

  audit
    .command('heads')
    .description('the signed chain head as JSON lines, for a witness outside the store; --follow keeps polling and writes each new head')
    .option('--follow', 'keep polling and write every new signed head')
    .option('--interval <seconds>', 'how often to poll with --follow', seconds, 5)
    .option('--out <file>', 'append the lines to this file instead of standard output')
    .option('--public-key <file>', 'check each head with this key (default: the key the service gives at the start)')
    .action(async (flags: { follow?: boolean; interval: number; out?: string; publicKey?: string }) => {
      const client = api();
      const publicKey = flags.publicKey === undefined ? await servicePublicKey(client) : readPublicKeyFile(flags.publicKey);
      const check = signatureCheck(publicKey);
      const write = (line: string) => (flags.out === undefined ? process.stdout.write(line) : appendFileSync(flags.out, line, { mode: 0o600 }));
      let lastSeq: number | undefined;
      for (;;) {
        const head = await client.request<SignedHead>('GET', '/api/v1/audit/head');
        if (head.seq !== lastSeq) {
          if (head.signature === null) {
            process.stderr.write(`agent-secrets: head ${head.seq} is not signed; not recorded\n`);
          } else if (!check(signedHeadStatement(head.account_id, head.seq, head.hash, head.previous), head.signature)) {
            // A head that does not verify is no evidence; the stored chain itself is what to look at.
            process.stderr.write(`agent-secrets: head ${head.seq}'s signature does not verify with audit key ${publicKeyFingerprint(publicKey)}; not recorded (run "audit verify")\n`);
            process.exitCode = 1;
          } else {
            write(`${JSON.stringify({ ...head, seen_at: new Date().toISOString() })}\n`);
          }
          lastSeq = head.seq;
        }
        if (!flags.follow) return;
        await sleep(flags.interval * 1000);
      }
    });

  return audit;
}
