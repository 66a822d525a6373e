import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { ACCOUNT_NAME_PATTERN, ACCOUNT_NAME_RULE, EMAIL_PATTERN, EMAIL_RULE } from '../../domain/names.js';
import type { Vault } from '../../vault/index.js';
import { silentLog } from '../../vault/log.js';
import { emit, printTable } from '../output.js';
import type { ServeFlags } from '../serve.js';
import { DEFAULT_SHUTDOWN_SECONDS } from '../shutdown.js';
import type { StorageFlags } from '../storage.js';

export function addStorageOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'folder of the embedded store: SQLite file and master key file', './data')
    .option('--database-url <url>', 'PostgreSQL instead of the embedded store (or AGENT_SECRETS_DATABASE_URL)')
    .option('--master-key-file <file>', 'the master key file (or AGENT_SECRETS_MASTER_KEY with the key itself)');
}

const port = (text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError('must be a port number from 1 to 65535 (0: any free port)');
  return value;
};

const positive = (text: string): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a positive number');
  return value;
};

/** The URL people reach the service at: an http(s) origin, optionally with a path, without query or fragment. */
const publicUrl = (text: string): string => {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError('must be the URL people open the console at, such as https://vault.example.com');
  }
  return url.href.replace(/\/+$/, '');
};

export const email = (text: string): string => {
  if (!EMAIL_PATTERN.test(text)) throw new InvalidArgumentError(`must be ${EMAIL_RULE}`);
  return text;
};

export const accountName = (text: string): string => {
  if (!ACCOUNT_NAME_PATTERN.test(text)) throw new InvalidArgumentError(`must be ${ACCOUNT_NAME_RULE}`);
  return text;
};

/** Runs `work` on the vault straight over storage, closing it after. */
export async function withVault<T>(flags: StorageFlags, createIfMissing: boolean, work: (vault: Vault) => Promise<T>): Promise<T> {
  // Loaded on use: commands that only talk to the API start faster without the database drivers.
  const { openVault } = await import('../storage.js');
  const { vault } = await openVault(flags, { createIfMissing, log: silentLog });
  try {
    return await work(vault);
  } finally {
    await vault.close();
  }
}

export function operatorCommands(program: Command): void {
  addStorageOptions(
    program
      .command('serve')
      .description('start the service (on first start with an empty store: the default account and its first admin)')
      .addOption(new Option('--port <port>', 'port to listen on').default(8787).env('PORT').argParser(port))
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--admin-email <email>', 'email of the first admin, made on the first start', email, 'admin@example.com')
      .option('--secure-cookies', 'mark the console session cookie Secure (when served over HTTPS)')
      .addOption(new Option('--reads-per-second <n>', 'run-time reads allowed per agent key per second (bursts of twice that)').default(1000).env('AGENT_SECRETS_READS_PER_SECOND').argParser(positive))
      .addOption(new Option('--broker-requests-per-second <n>', 'brokered requests (POST /runtime/v1/requests) allowed per agent key per second (bursts of twice that)').default(100).env('AGENT_SECRETS_BROKER_REQUESTS_PER_SECOND').argParser(positive))
      .option('--broker-allow-private', 'let brokered requests reach private, loopback and link-local addresses, and use plain http: to them (on-premises APIs, tests); metadata addresses stay refused')
      .option('--broker-ca-file <file>', 'PEM file of CA certificates that brokered requests trust beside the system ones (internal APIs)')
      .addOption(new Option('--public-url <url>', 'the URL people open the console at; the SSO redirect URI is built from it (default: each request\'s own host)').env('AGENT_SECRETS_PUBLIC_URL').argParser(publicUrl))
      .option('--sso-allow-private-issuer', 'let the vault reach an OpenID provider at a private, loopback or link-local address (one inside your network)')
      .option('--sso-allow-insecure-issuer', 'accept an OpenID provider over plain http (tests and labs only; never in production; only to a private address, with --sso-allow-private-issuer)')
      .addOption(new Option('--metrics-token-file <file>', 'serve GET /metrics (Prometheus) to holders of the token in this owner-only file; without it there is no /metrics').env('AGENT_SECRETS_METRICS_TOKEN_FILE'))
      .option('--access-log', 'log one JSON line per request (method, route template, status, duration, request id); off by default')
      .addOption(new Option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, exit 1 if answering in-flight requests and storing their audit events takes longer').default(DEFAULT_SHUTDOWN_SECONDS).env('AGENT_SECRETS_SHUTDOWN_TIMEOUT').argParser(positive)),
  ).action(async (flags: ServeFlags) => {
    const { serve } = await import('../serve.js');
    await serve(flags);
  });

  addStorageOptions(
    program
      .command('init')
      .description('create an account with the vault enabled and its first admin; prints a one-time password and a token once')
      .requiredOption('--admin-email <email>', 'the first admin', email)
      .option('--account <name>', 'account name', accountName, 'default')
      .option('--json', 'print {"account","email","password","token"}'),
  ).action(async (flags: StorageFlags & { adminEmail: string; account: string; json?: boolean }) => {
    const created = await withVault(flags, true, (vault) => vault.accounts.createAccount(flags.account, flags.adminEmail));
    emit(flags.json, created, (value) => {
      process.stdout.write(
        `Created account "${value.account}" (vault enabled) with admin ${value.email}.\n` +
          `  password  ${value.password}\n  token     ${value.token}\nThese are shown only now. The password is one-time: it signs in once, within 72 hours, to choose your own.\n` +
          'The token is a credential of its own and keeps working.\n',
      );
    });
  });

  const accounts = program.command('accounts').description('operator commands on accounts, straight on storage');
  addStorageOptions(accounts.command('list').description('list accounts').option('--json', 'JSON output')).action(async (flags: StorageFlags & { json?: boolean }) => {
    const list = await withVault(flags, false, (vault) => vault.accounts.listAccounts());
    emit(flags.json, list, (rows) =>
      printTable(
        rows.map((row) => ({ ...row, vault: row.vaultEnabled ? 'on' : 'off' })),
        [
          ['name', 'NAME'],
          ['vault', 'VAULT'],
          ['users', 'USERS'],
          ['agents', 'AGENTS'],
          ['secrets', 'SECRETS'],
          ['createdAt', 'CREATED'],
        ],
      ),
    );
  });
  addStorageOptions(
    accounts
      .command('set-vault')
      .description('enable or disable the secrets vault of an account')
      .argument('<name>', 'account name')
      .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off'])),
  ).action(async (name: string, state: string, flags: StorageFlags) => {
    await withVault(flags, false, (vault) => vault.accounts.setVault(name, state === 'on'));
    process.stdout.write(`Vault of account "${name}" is now ${state}.\n`);
  });
  addStorageOptions(
    accounts
      .command('allow-password-sign-in')
      .description("turn password sign-in back on for an account whose single sign-on turned it off (when its identity provider fails)")
      .argument('<name>', 'account name'),
  ).action(async (name: string, flags: StorageFlags) => {
    const changed = await withVault(flags, false, (vault) => vault.ssoSettings.allowPasswordSignInAsOperator(name));
    process.stdout.write(changed ? `Password sign-in is on again for account "${name}".\n` : `Password sign-in was already allowed for account "${name}"; nothing changed.\n`);
  });
}
