import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** Signals a person or a supervisor sends to stop or poke a command; they go on to the child. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Forwards signals to `child` until it exits; returns the exit code a shell would report. */
export function waitForChild(child: ChildProcess): Promise<number> {
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      reject(error);
    });
    child.once('close', (code, signal) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
