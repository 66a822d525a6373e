import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { emit } from '../output.js';
import { UsageError } from '../configError.js';
import type { StorageFlags } from '../storage.js';
import { addStorageOptions } from './operator.js';

/**
 * Operator maintenance straight on storage (SPEC S18): master key rotation (`keys rotate-master`),
 * data key rotation (`keys rotate-data`), backup and restore. See docs/operations.md.
 */
export function maintenanceCommands(program: Command, keys: Command): void {
  addStorageOptions(
    keys
      .command('rotate-master')
      .description('re-wrap every data key under a new master key (resumable); then --complete drops the old wrappings')
      .option('--new-key-file <file>', 'the new master key file (32 random bytes, base64, mode 600)')
      .option('--complete', 'once every instance runs on the new key (given as the master key): drop the old wrappings')
      .option('--json', 'JSON output'),
  ).action(async (flags: StorageFlags & { newKeyFile?: string; complete?: boolean; json?: boolean }) => {
    if ((flags.newKeyFile === undefined) === (flags.complete !== true)) {
      throw new UsageError('give either --new-key-file FILE (re-wrap under a new key) or --complete (drop the old wrappings), not both');
    }
    const [{ withMaintenance }, { progressReporter }, { readMasterKeyFile }] = await Promise.all([
      import('../maintenanceStorage.js'),
      import('../progress.js'),
      import('../../crypto/masterKey.js'),
    ]);
    const next = flags.newKeyFile === undefined ? undefined : readMasterKeyFile(resolve(flags.newKeyFile));
    const progress = progressReporter(next ? 'Re-wrapping' : 'Retiring old wrappings');
    const result = await withMaintenance(flags, async (maintenance) => {
      try {
        return next ? await maintenance.keys.rotateMasterKey(next, progress.report) : await maintenance.keys.completeRotation(progress.report);
      } finally {
        progress.end();
      }
    });
    emit(flags.json, { ...result, newMasterKeyId: next?.id }, (value) => {
      if (next) {
        process.stdout.write(
          `Every data key (${value.total}) is now wrapped by master key ${next.id} (${value.rewrapped} re-wrapped just now).\n` +
            'Instances on the old key keep working. Next: restart every instance with the new key, then run\n' +
            '"agent-secrets keys rotate-master --complete" with the new key; after that the old key is no longer needed.\n',
        );
      } else {
        process.stdout.write(`Dropped the old wrappings of ${value.rewrapped} data key(s); only the configured master key opens the store now.\n`);
      }
    });
  });

  addStorageOptions(
    keys
      .command('rotate-data')
      .description("make a fresh data key current for an account (or all): new versions are sealed under it, old ones still open")
      .option('--account <name>', 'the account')
      .option('--all', 'every account')
      .option('--json', 'JSON output'),
  ).action(async (flags: StorageFlags & { account?: string; all?: boolean; json?: boolean }) => {
    if ((flags.account === undefined) === (flags.all !== true)) throw new UsageError('give either --account NAME or --all');
    const { withMaintenance } = await import('../maintenanceStorage.js');
    const rotated = await withMaintenance(flags, (maintenance) => maintenance.keys.rotateDataKeys(flags.account));
    emit(flags.json, rotated, (rows) => {
      for (const row of rows) process.stdout.write(`Account "${row.account}": new data key ${row.dataKey} is current.\n`);
    });
  });

  addStorageOptions(
    program
      .command('backup')
      .description('write an encrypted, integrity-checked backup of everything, from one consistent snapshot, while the service runs')
      .requiredOption('--out <file>', 'the backup file to write (mode 600)')
      .option('--json', 'JSON output'),
  ).action(async (flags: StorageFlags & { out: string; json?: boolean }) => {
    const { withMaintenance } = await import('../maintenanceStorage.js');
    const out = resolve(flags.out);
    if (existsSync(out)) throw new UsageError(`${out} already exists; give a new file name (a backup never overwrites one)`);
    const summary = await withMaintenance(flags, (maintenance) => maintenance.backups.backup(out));
    emit(flags.json, { file: out, ...summary }, (value) => {
      process.stdout.write(
        `Backed up ${describeCounts(value.counts)} to ${value.file} (${value.bytes} bytes).\n` +
          `It opens only with master key ${value.masterKeyId}: keep that key, apart from the backup, as long as you keep the backup.\n`,
      );
    });
  });

  addStorageOptions(
    program
      .command('restore')
      .description('restore a backup into an empty store (a new --data folder or a new database)')
      .requiredOption('--in <file>', 'the backup file')
      .option('--json', 'JSON output'),
  ).action(async (flags: StorageFlags & { in: string; json?: boolean }) => {
    const { withMaintenance, requireGivenMasterKey } = await import('../maintenanceStorage.js');
    requireGivenMasterKey(flags);
    const summary = await withMaintenance(flags, (maintenance) => maintenance.backups.restore(resolve(flags.in)));
    emit(flags.json, summary, (value) =>
      process.stdout.write(
        `Restored ${describeCounts(value.counts)}.\n` +
          `Start the service with master key ${value.masterKeyId} (with --data, as DIR/master.key, mode 600).\n`,
      ),
    );
  });
}

function describeCounts(counts: Record<string, number>): string {
  const n = (table: string) => counts[table] ?? 0;
  return `${n('accounts')} account(s), ${n('secrets')} secret(s) with ${n('secret_versions')} version(s), ${n('agents')} agent(s), ${n('audit_events')} audit event(s)`;
}
