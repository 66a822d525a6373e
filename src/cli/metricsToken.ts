import { resolve } from 'node:path';
import { readOwnerOnlyFile } from '../crypto/ownerOnlyFile.js';
import { ConfigError } from './configError.js';

/** A token a scraper sends: long enough not to be guessed, and nothing a header could garble. */
const TOKEN_SHAPE = /^[\x21-\x7e]{16,512}$/;
const HOW_TO_MAKE = 'head -c 32 /dev/urandom | base64';

/**
 * `serve --metrics-token-file FILE`: the bearer token GET /metrics requires. Checked like the master
 * key file: owner-only, one line (a final newline allowed), 16 to 512 visible ASCII characters; any
 * other shape stops the start with one line that says how to make a good one. The line never shows
 * what the file holds.
 */
export function readMetricsToken(file: string): string {
  const path = resolve(file);
  const text = readOwnerOnlyFile(path, 'metrics token file', (message) => new ConfigError(message));
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  const make = `(make one with: ${HOW_TO_MAKE} > ${path} && chmod 600 ${path})`;
  if (line.trim() === '') throw new ConfigError(`metrics token file ${path} is empty ${make}`);
  if (!TOKEN_SHAPE.test(line)) {
    throw new ConfigError(`metrics token file ${path} must hold one line of 16 to 512 visible ASCII characters, no spaces ${make}`);
  }
  return line;
}
