import { StringDecoder } from 'node:string_decoder';

/**
 * What a terminal would act on rather than show: C0 controls but line feed and tab (ESC starts colour,
 * cursor and OSC sequences — OSC 52 writes the clipboard; CR overwrites a line), DEL, C1 controls (CSI
 * and OSC have one-character forms) and the bidirectional overrides that make a line read otherwise.
 */
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text with every terminal control shown as an escape (`\x1b`, `\u202e`), so a terminal only prints it. */
export function escapeTerminalControls(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Makes a stream that is a terminal show control characters instead of obeying them, whatever writes
 * to it: names, descriptions and audit fields come from other people, a revealed value or a function's
 * output from anywhere. Output into a pipe or a file is left byte for byte as it was (a script reading
 * a revealed value gets the value); people-facing text is escaped there too, where it is made.
 */
export function guardTerminal(stream: NodeJS.WriteStream): void {
  if (!stream.isTTY) return;
  const write = stream.write.bind(stream) as (chunk: string, callback?: (error?: Error | null) => void) => boolean;
  const decoder = new StringDecoder('utf8');
  const guarded = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text =
      typeof chunk === 'string'
        ? typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8'
          ? Buffer.from(chunk, encoding as BufferEncoding).toString('utf8')
          : chunk
        : decoder.write(Buffer.from(chunk as Uint8Array));
    const done = (typeof encoding === 'function' ? encoding : callback) as ((error?: Error | null) => void) | undefined;
    return write(escapeTerminalControls(text), done);
  };
  stream.write = guarded as typeof stream.write;
}
