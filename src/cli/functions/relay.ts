import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { StreamMasker, type Masker } from '../../sdk/masking.js';

/**
 * Passes a child's output on with every value the masker knows replaced by `***`, also a value split
 * across chunks (`agent-secrets exec` and `run` relay their child's descriptors through it, so that
 * even raw writes to a descriptor are masked). Resolves once the child's end is closed.
 */
export function relayMasked(from: Readable, to: Writable, masker: Masker): Promise<void> {
  const writer = maskedWriter(to, masker);
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => writer.write(chunk));
    from.on('close', () => {
      writer.end();
      resolve();
    });
  });
}

/** Bytes in, masked text out to `to`; `end` passes on what was held back. */
export function maskedWriter(to: Writable, masker: Masker): { write(chunk: Buffer): void; end(): void } {
  const stream = new StreamMasker(masker);
  const decoder = new StringDecoder('utf8');
  return {
    write(chunk) {
      const text = stream.push(decoder.write(chunk));
      if (text) to.write(text);
    },
    end() {
      const text = stream.push(decoder.end()) + stream.end();
      if (text) to.write(text);
    },
  };
}
