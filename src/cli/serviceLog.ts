import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * The service's log. Into a log stream (stdout is a pipe or a file: a process manager, a container)
 * pino's JSON lines, one per event, as collectors expect. On a terminal, where a person reads it,
 * pino-pretty's readable lines (`[12:00:01.123] INFO: agent-secrets is listening`), formatted
 * in-process and written synchronously through process.stdout: so they keep their place after the
 * first-start banner, and pass through the terminal guard (src/cli/terminal.ts) like every other
 * line the command prints. No worker transport: its lines would arrive whenever the worker sends them.
 *
 * While the service comes up, lines are held (`hold`) and written on `release`, so that a person
 * reads the first-start notice first and "listening" after it. `direct` writes at once: the
 * first-start notice itself, when it is a log line.
 */
export interface ServiceLog {
  /** Whether a person reads it (a terminal): then lines are pretty-printed, and serve adds plain ones. */
  readable: boolean;
  logger: Logger;
  direct: Logger;
  hold(): void;
  release(): void;
}

const OPTIONS: LoggerOptions = { level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] };

export function serviceLog(stdout: NodeJS.WriteStream = process.stdout): ServiceLog {
  const readable = stdout.isTTY === true;
  const target = readable ? readableLines(stdout) : pino.destination({ dest: 1, sync: false });
  let held: string[] | undefined;
  const holding: DestinationStream = {
    write(line: string) {
      if (held) held.push(line);
      else target.write(line);
    },
  };
  return {
    readable,
    logger: pino(OPTIONS, holding),
    direct: pino(OPTIONS, target),
    hold: () => {
      held ??= [];
    },
    release: () => {
      const lines = held ?? [];
      held = undefined;
      for (const line of lines) target.write(line);
    },
  };
}

function readableLines(stdout: NodeJS.WriteStream): DestinationStream {
  // Colour would be escaped by the terminal guard, which shows every ESC it sees; plain text reads fine.
  const prettify = prettyFactory({ colorize: false, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  return { write: (line: string) => void stdout.write(prettify(line)) };
}
