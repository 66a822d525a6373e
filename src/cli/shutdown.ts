import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Vault } from '../vault/index.js';

/** `serve --shutdown-timeout` when not given: seconds from the signal to a forced exit. */
export const DEFAULT_SHUTDOWN_SECONDS = 10;

/**
 * SIGTERM or SIGINT: stop accepting connections, answer the requests in flight (a request that
 * arrives on an open connection meanwhile gets 503, see connections.ts), write the audit events still
 * pending, close storage, exit 0. Each read in flight is answered only once its audit event is durable,
 * as always (SPEC S13), so none is answered without it. If that takes longer than `seconds`, one line
 * says which step was under way and the process exits 1. A second signal while stopping ends the
 * process at once with exit 1: the operator's way out of a stop that hangs (unanswered reads then get
 * no answer, never one without its event).
 */
export function stopOnSignals(app: FastifyInstance, vault: Pick<Vault, 'close'>, options: { seconds: number; logger: Logger }): void {
  let step: string | undefined;
  const fail = (line: string) => {
    process.stderr.write(`agent-secrets: ${line}\n`);
    process.exit(1);
  };

  const stop = async (signal: NodeJS.Signals) => {
    if (step !== undefined) return fail(`${signal} again while stopping (${step}): exiting now`);
    step = 'answering the requests in flight';
    options.logger.info({ signal, timeoutSeconds: options.seconds }, 'stopping: no new connections; answering the requests in flight');
    // Not unref'd: the bound holds even if everything else has let go of the event loop.
    setTimeout(() => fail(`shutdown did not finish within ${options.seconds} s (still ${step}): exiting 1`), options.seconds * 1000);
    try {
      await app.close();
      step = 'writing the pending audit events and closing storage';
      await vault.close();
    } catch (error) {
      return fail(`shutdown failed while ${step}: ${error instanceof Error ? error.message : String(error)}`);
    }
    options.logger.info({}, 'stopped');
    // pino writes asynchronously to a pipe; exit once its last line is out.
    options.logger.flush(() => process.exit(0));
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
