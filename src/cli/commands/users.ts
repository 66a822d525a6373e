import { Argument, Command } from 'commander';
import { EMAIL_PATTERN, EMAIL_RULE } from '../../domain/names.js';
import type { Role } from '../../domain/roles.js';
import { UsageError } from '../configError.js';
import { apiClient, enc, type ApiClient } from '../api.js';
import { emit, printTable } from '../output.js';
import type { StorageFlags } from '../storage.js';
import { accountName, addStorageOptions, email, withVault } from './operator.js';

/**
 * `agent-secrets users`: an admin's commands over the API (AGENT_SECRETS_URL, AGENT_SECRETS_TOKEN),
 * and the operator's ways back in, straight on storage (SPEC S19, section 4): `reset-password`, and
 * `set-role` when no admin token is at hand, for an account left without a usable admin.
 */

const STORAGE_OPTIONS = ['data', 'databaseUrl', 'masterKeyFile', 'account'] as const;

/**
 * `set-role` runs on storage, as the operator, unless an admin token is set and no storage option was
 * given: then it goes over the API, as that admin.
 */
function runsOnStorage(command: Command): boolean {
  const token = process.env.AGENT_SECRETS_TOKEN;
  if (token === undefined || token === '') return true;
  return STORAGE_OPTIONS.some((name) => {
    const source = command.getOptionValueSource(name);
    return source !== undefined && source !== 'default';
  });
}

export function usersCommands(program: Command, api: () => ApiClient = () => apiClient()): Command {
  const users = program.command('users').description("the account's users (over the API); reset-password and set-role also straight on storage, for operators");
  users
    .command('list')
    .description('list the account\'s users and their roles')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => {
      const { users: rows } = await api().request<{ users: Array<Record<string, unknown>> }>('GET', '/api/v1/users');
      emit(flags.json, rows, (list) => printTable(list, [['email', 'EMAIL'], ['role', 'ROLE'], ['id', 'ID'], ['createdAt', 'CREATED']]));
    });
  users
    .command('add')
    .description('add a user; prints a one-time password, shown once')
    .argument('<email>')
    .option('--role <role>', 'admin or member', 'member')
    .option('--json', 'JSON output')
    .action(async (address: string, flags: { role: string; json?: boolean }) => {
      const user = await api().request<{ email: string; role: string; password?: string }>('POST', '/api/v1/users', { email: address, role: flags.role });
      emit(flags.json, user, (u) =>
        process.stdout.write(`Added ${u.email} as ${u.role}.${u.password ? ` One-time password (shown only now; it signs in once, within 72 hours, to choose a new one): ${u.password}` : ''}\n`),
      );
    });
  addStorageOptions(
    users
      .command('set-role')
      .description("change a user's role: over the API with AGENT_SECRETS_TOKEN; straight on storage as the operator without it, or with a storage option (the way back for an account with no admin left)")
      .argument('<user>', 'email (or, over the API, id)')
      .addArgument(new Argument('<role>', 'admin or member').choices(['admin', 'member']))
      .option('--account <name>', 'on storage: the account the user must belong to', accountName),
  ).action(async (user: string, role: Role, flags: StorageFlags & { account?: string }, command: Command) => {
    if (!runsOnStorage(command)) {
      await api().request('PATCH', `/api/v1/users/${enc(user)}`, { role });
      process.stdout.write(`${user} is now ${role}.\n`);
      return;
    }
    if (!EMAIL_PATTERN.test(user)) throw new UsageError(`on storage, name the user by email: ${EMAIL_RULE}`);
    const changed = await withVault(flags, false, (vault) => vault.people.setRoleAsOperator(user, role, flags.account));
    process.stdout.write(`${changed.email} (account "${changed.account}") is now ${role}.\n`);
  });
  users
    .command('remove')
    .description('remove a user: their sessions and tokens end at once')
    .argument('<user>', 'email or id')
    .action(async (user: string) => {
      await api().request('DELETE', `/api/v1/users/${enc(user)}`);
      process.stdout.write(`Removed ${user}.\n`);
    });
  addStorageOptions(
    users
      .command('reset-password')
      .description("operator: give a user a one-time password, straight on storage (also while the service runs); ends the user's console sessions")
      .argument('<email>', "the user's email", email)
      .option('--account <name>', 'the account the user must belong to', accountName)
      .option('--json', 'print {"email","password"}'),
  ).action(async (address: string, flags: StorageFlags & { account?: string; json?: boolean }) => {
    const reset = await withVault(flags, false, (vault) => vault.passwords.resetPasswordAsOperator(address, flags.account));
    emit(flags.json, { email: reset.email, password: reset.password }, (value) =>
      process.stdout.write(
        `One-time password for ${value.email} (account "${reset.account}"), shown only now:\n  password  ${value.password}\n` +
          'It signs in once, within 72 hours, to choose a new password. Their console sessions have ended.\n',
      ),
    );
  });
  return users;
}
