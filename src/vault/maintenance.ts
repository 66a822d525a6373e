import { Keyring } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/masterKey.js';
import type { Store } from '../store/database.js';
import { AuditTrail } from './audit.js';
import { backupService } from './backup.js';
import type { Log } from './log.js';
import { keyRotation } from './rekey.js';
import { sealingService } from './sealing.js';

/**
 * The operator's maintenance (SPEC S18) over one store and master key: key rotation, backup, restore.
 * Wired apart from createVault because the CLI runs it straight on storage and it needs the master key
 * itself (to derive the backup key, and to pair it with a new one).
 */
export function createMaintenance(deps: { store: Store; masterKey: MasterKey; log: Log }) {
  const { store, masterKey, log } = deps;
  const keyring = new Keyring(masterKey);
  const sealing = sealingService(keyring);
  const audit = new AuditTrail({ store, log, sealing });
  return {
    keys: keyRotation({ store, audit, sealing, masterKey }),
    backups: backupService({ store, audit, keyring, masterKey }),
    async close(): Promise<void> {
      await audit.flush();
      await store.close();
    },
  };
}

export type Maintenance = ReturnType<typeof createMaintenance>;
