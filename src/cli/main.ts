import { Command, CommanderError } from 'commander';
import { MasterKeyError } from '../crypto/masterKey.js';
import { VaultError } from '../domain/errors.js';
import { closestName } from '../domain/suggest.js';
import { isStorageUnavailable } from '../vault/index.js';
import { ApiError } from './api.js';
import { auditCommands } from './commands/audit.js';
import { functionCommands } from './commands/functions.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { manageCommands } from './commands/manage.js';
import { operatorCommands } from './commands/operator.js';
import { usersCommands } from './commands/users.js';
import { ConfigError, UsageError } from './configError.js';
import { guardTerminal } from './terminal.js';

export function buildProgram(): Command {
  const program = new Command('agent-secrets')
    .description('A secrets vault for voice and chat AI agents')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // Program options only before the command, so `secrets reveal --version 2` means the secret's version.
    .enablePositionalOptions()
    .exitOverride();
  operatorCommands(program);
  const { secrets, keys } = manageCommands(program);
  usersCommands(program);
  auditCommands(program);
  functionCommands(program, secrets);
  maintenanceCommands(program, keys);
  helpCommand(program);
  return program;
}

/**
 * `help A B` shows what `A B --help` shows, at any depth: commander's own help command takes one
 * name and would answer `help secrets create` with the help of `secrets`.
 */
function helpCommand(program: Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .description('show the help of a command, e.g. help secrets create (the same as secrets create --help)')
    .argument('[command...]', 'a command and its subcommands')
    .action((path: string[]) => {
      let target = program;
      for (const [depth, name] of path.entries()) {
        const next = target.commands.find((command) => command.name() === name || command.aliases().includes(name));
        if (next === undefined) {
          const known = target.commands.map((command) => command.name()).filter((command) => command !== 'help');
          const near = closestName(name, known);
          const hint = near === undefined ? `run agent-secrets help ${path.slice(0, depth).join(' ')}`.trimEnd() : `did you mean "${[...path.slice(0, depth), near].join(' ')}"?`;
          throw new UsageError(`no command "${path.slice(0, depth + 1).join(' ')}"; ${hint}`);
        }
        target = next;
      }
      target.help();
    });
}

/** A failure as the one line a person reads; undefined for a bug, which deserves its stack. */
function oneLine(error: unknown): string | undefined {
  if (error instanceof ApiError) return error.field ? `${error.message} (field: ${error.field})` : error.message;
  if (error instanceof VaultError) return error.field ? `${error.message} (field: ${error.field})` : error.message;
  if (error instanceof ConfigError || error instanceof MasterKeyError || error instanceof UsageError) return error.message;
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') return `the port is already in use: ${(error as Error).message}`;
  if (code === 'EACCES' || code === 'ENOENT' || code === 'EPERM' || code === 'EROFS') return (error as Error).message;
  // A database that cannot be written or reached is the operator's to fix, not a bug: one line.
  if (isStorageUnavailable(error)) return `the database cannot be used right now: ${(error as Error).message}`;
  return undefined;
}

export async function main(argv: string[]): Promise<void> {
  guardTerminal(process.stdout);
  guardTerminal(process.stderr);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const line = oneLine(error);
    if (line === undefined) {
      process.stderr.write(`agent-secrets: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    } else {
      process.stderr.write(`agent-secrets: ${line}\n`);
    }
    process.exitCode = 1;
  }
}
