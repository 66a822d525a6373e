import pino from 'pino';
import { buildServer } from '../http/server.js';
import { openVault, type StorageFlags } from './storage.js';

export interface ServeFlags extends StorageFlags {
  port: number;
  host: string;
  adminEmail: string;
  secureCookies?: boolean;
  readsPerSecond: number;
}

/** Starts the service; on the first start with an empty store, creates the default account and its admin. */
export async function serve(flags: ServeFlags): Promise<void> {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] });
  // A store that cannot take writes could answer nothing but 503 (every read writes its audit event).
  const { vault, description } = await openVault(flags, { createIfMissing: true, log: logger, requireWrites: true });

  let firstAdmin: Awaited<ReturnType<typeof vault.accounts.createAccount>> | undefined;
  if (await vault.accounts.isEmpty()) {
    try {
      firstAdmin = await vault.accounts.createAccount('default', flags.adminEmail);
    } catch (error) {
      // Several instances started at once on an empty database: another one made the account.
      if (await vault.accounts.isEmpty()) throw error;
    }
  }

  await vault.store.readEvents.ready();
  const app = await buildServer({ vault, logger, secureCookies: flags.secureCookies ?? false, limits: { readsPerSecond: flags.readsPerSecond } });
  await app.listen({ port: flags.port, host: flags.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : flags.port;
  const hostForUrl = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`;
  logger.info({ url, storage: description }, 'agent-secrets is listening');

  // Printed once to the terminal, never to the log: the first admin's credentials.
  if (firstAdmin) {
    process.stdout.write(
      [
        '',
        'First start: created account "default" with the secrets vault enabled, and its first admin.',
        `  console   ${url}/`,
        `  email     ${firstAdmin.email}`,
        `  password  ${firstAdmin.password}`,
        `  token     ${firstAdmin.token}`,
        'These are shown only now. Use the token with the CLI:',
        `  export AGENT_SECRETS_URL=${url} AGENT_SECRETS_TOKEN=${firstAdmin.token}`,
        '',
      ].join('\n') + '\n',
    );
  }
  process.stdout.write(`agent-secrets listening on ${url} (${description})\n`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await vault.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
