import type { Command } from 'commander';

/**
 * Operator maintenance straight on storage (SPEC S18): master key rotation (`keys rotate-master`),
 * backup and restore.
 */
export function maintenanceCommands(_program: Command, _keys: Command): void {
  // Filled in by the key rotation and backup work.
}
