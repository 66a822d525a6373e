import type { Command } from 'commander';

/**
 * Commands for agent functions (SPEC S9–S12): `run`, `exec` and `secrets available`. They talk only
 * to the run-time API with an agent key.
 */
export function functionCommands(_program: Command, _secrets: Command): void {
  // Filled in by the function SDK work.
}
