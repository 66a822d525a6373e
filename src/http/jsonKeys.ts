/**
 * A token scan of a JSON text's object keys, for what JSON.parse does not say: that an object names a
 * key twice (JSON.parse keeps the last one without a word, so `{"environment":"live","environment":
 * "sandbox"}` would set the sandbox value), or names a key this API reserves. Keys are compared as
 * JSON.parse decodes them, so `"a"` and `"\u0061"` are one key.
 *
 * It reads a text JSON.parse has already taken (so it never judges syntax), once from start to end:
 * strings are skipped with indexOf, each key is decoded once, and each object keeps a set of its keys,
 * so time and memory stay linear in the text's size, however deep it nests (no recursion).
 */

export interface KeyProblem {
  /** Where the key is: the keys and array indexes down to it, the key itself last. */
  path: Array<string | number>;
  problem: 'repeated' | 'reserved';
}

/** An open object (with the keys it has named so far) or array (with the index of its element). */
interface Container {
  keys: Set<string> | undefined;
  lastKey: string;
  index: number;
  /** Where it sits in its parent: the key or index; undefined for the outermost value. */
  at: string | number | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** The index of the quote that closes the string opening at `start`: the next quote not escaped. */
function stringEnd(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
}

/** A key as JSON.parse reads it; only a key with an escape needs decoding. */
function keyAt(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
}

const pathTo = (open: readonly Container[], key: string): Array<string | number> => [
  ...open.slice(1).map((container) => container.at as string | number),
  key,
];

/**
 * The first key of `text` (valid JSON) that repeats a key of its object, or that `isReserved` refuses
 * (given the key and where its object sits: the parent's key or index).
 */
export function findKeyProblem(text: string, isReserved: (key: string, under: string | number | undefined) => boolean): KeyProblem | undefined {
  const open: Container[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    const top = open[open.length - 1];
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectingKey && top?.keys !== undefined) {
        const key = keyAt(text, i, end);
        if (isReserved(key, top.at)) return { path: pathTo(open, key), problem: 'reserved' };
        if (top.keys.has(key)) return { path: pathTo(open, key), problem: 'repeated' };
        top.keys.add(key);
        top.lastKey = key;
        expectingKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const at = top === undefined ? undefined : top.keys !== undefined ? top.lastKey : top.index;
      open.push({ keys: c === OPEN_OBJECT ? new Set() : undefined, lastKey: '', index: 0, at });
      expectingKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      expectingKey = false;
    } else if (c === COMMA && top !== undefined) {
      if (top.keys !== undefined) expectingKey = true;
      else top.index += 1;
    }
    // Anything else (white space, ":", numbers, true, false, null) says nothing about keys.
  }
  return undefined;
}
