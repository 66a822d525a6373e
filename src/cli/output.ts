import { escapeTerminalControls } from './terminal.js';

/** Output for people (aligned tables) and for scripts (--json). */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns: ReadonlyArray<[key: string, heading: string]>): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  // Cells are other people's text (names, descriptions, audit fields): shown, never obeyed, also in a file.
  const cell = (value: unknown): string => escapeTerminalControls(value === null || value === undefined ? '-' : Array.isArray(value) ? value.join(',') : String(value));
  const widths = columns.map(([key, heading]) => Math.max(heading.length, ...rows.map((row) => cell(row[key]).length)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(columns.map(([, heading]) => heading)), ...rows.map((row) => line(columns.map(([key]) => cell(row[key]))))];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Either the JSON of `value`, or what `human` prints. */
export function emit<T>(json: boolean | undefined, value: T, human: (value: T) => void): void {
  if (json) printJson(value);
  else human(value);
}
