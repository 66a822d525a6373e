import { toPrintable } from './format.js';
import type { Masker } from './masking.js';

/**
 * conv.log: what a function writes about its work. Everything passes the masker after it is turned
 * into text, so a value is masked in the very form it is printed in (SPEC S12).
 */
export type LogLevel = 'info' | 'warning' | 'error';

export interface LogEntry {
  level: LogLevel;
  /** Masked. */
  message: string;
  /** The fields as masked JSON text, when there were any. */
  fields: string | undefined;
}

export type LogSink = (entry: LogEntry) => void;

export interface ConvLog {
  info(message: unknown, fields?: Record<string, unknown>): void;
  warning(message: unknown, fields?: Record<string, unknown>): void;
  error(message: unknown, fields?: Record<string, unknown>): void;
}

/** One line per entry: `[info] Booked a table {"booking_id":"b-17"}`. */
export const formatLogLine = (entry: LogEntry): string =>
  `[${entry.level}] ${entry.message}${entry.fields === undefined ? '' : ` ${entry.fields}`}`;

export const stderrSink: LogSink = (entry) => {
  process.stderr.write(`${formatLogLine(entry)}\n`);
};

export function convLog(masker: Masker, sink: LogSink): ConvLog {
  const write = (level: LogLevel) => (message: unknown, fields?: Record<string, unknown>) => {
    const text = typeof message === 'string' ? message : toPrintable(message);
    const hasFields = fields !== undefined && fields !== null && (typeof fields !== 'object' || Object.keys(fields).length > 0);
    sink({ level, message: masker.mask(text), fields: hasFields ? masker.mask(toPrintable(fields)) : undefined });
  };
  return { info: write('info'), warning: write('warning'), error: write('error') };
}
