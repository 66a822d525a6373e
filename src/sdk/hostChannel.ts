import type { Duplex } from 'node:stream';
import { MissingAccess, SecretNotFound, SecretsError, VaultUnreachable } from './errors.js';
import type { FunctionEnv } from './conv.js';
import type { ReadableSecrets, RuntimeClient, SecretRead } from './runtimeClient.js';

/**
 * The channel between `agent-secrets run` (the runner) and the process hosting a function
 * (src/sdk/host.ts, or clients/python/conv_secrets.py --channel-fd): one JSON message per line over
 * file descriptor 3. The function's process never holds the agent key: every get_secret and
 * list_secrets is a request on this channel, which the runner answers by asking the service (on every
 * call, SPEC S7), so that the runner learns every value the function received and masks it in all the
 * function writes.
 *
 *   host → runner: {"type":"hello"}  {"type":"read","id":1,"name":"…"}  {"type":"list","id":2}
 *                  {"type":"result","text":"…"}
 *   runner → host: {"type":"run","file","args","env","agent","account"}
 *                  {"type":"answer","id":1,"ok":true,"body":…} or {"type":"answer","id":1,"ok":false,"error":{…}}
 */
export const CHANNEL_FD = 3;

export interface RunMessage {
  type: 'run';
  file: string;
  args: unknown;
  env: FunctionEnv;
  agent: string;
  account: string;
  /** `run --verbose`: a failure shows its whole stack. */
  verbose?: boolean;
}

/** A refusal as it crosses the channel: what the SDK's error classes carry, never a value. */
export interface WireError {
  name: string;
  message: string;
  code: string;
  status: number;
  secret?: string | undefined;
  agent?: string | undefined;
  reason?: 'timeout' | 'network' | undefined;
}

export type AnswerMessage = { type: 'answer'; id: number; ok: true; body: unknown } | { type: 'answer'; id: number; ok: false; error: WireError };
export type ToHost = RunMessage | AnswerMessage;
export type FromHost = { type: 'hello' } | { type: 'read'; id: number; name: string } | { type: 'list'; id: number } | { type: 'result'; text: string };

/** Reads newline-delimited JSON from a stream, one message at a time; a line longer than `maxLine` ends it. */
export function readLines(stream: Duplex, onMessage: (message: unknown) => void, maxLine = 64 * 1024 * 1024): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    for (let at = pending.indexOf('\n'); at !== -1; at = pending.indexOf('\n')) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      if (line === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        stream.destroy(new Error('the function channel carried something that is not JSON'));
        return;
      }
      onMessage(message);
    }
    if (pending.length > maxLine) stream.destroy(new Error('the function channel carried a message that is too long'));
  });
}

export function sendLine(stream: Duplex, message: ToHost | FromHost): void {
  stream.write(`${JSON.stringify(message)}\n`);
}

export function toWire(error: SecretsError): WireError {
  return {
    name: error.name,
    message: error.message,
    code: error.code,
    status: error.status,
    secret: error.secret,
    agent: error.agent,
    reason: error instanceof VaultUnreachable ? error.reason : undefined,
  };
}

/** The SDK error the function would have got had it asked the service itself. */
export function fromWire(wire: WireError): SecretsError {
  const details = { status: wire.status, agent: wire.agent };
  if (wire.code === 'SecretNotFound' && wire.secret !== undefined) return new SecretNotFound(wire.message, { ...details, secret: wire.secret });
  if (wire.code === 'MissingAccess' && wire.secret !== undefined) return new MissingAccess(wire.message, { ...details, secret: wire.secret });
  if (wire.code === 'unreachable') return new VaultUnreachable(wire.message, { reason: wire.reason ?? 'network', secret: wire.secret, agent: wire.agent });
  return new SecretsError(wire.message, { ...details, code: wire.code, secret: wire.secret });
}

/**
 * The run-time client of a hosted function: the same interface as runtimeClient (so conv is built the
 * same way), answered by the runner over the channel instead of by the service with a key.
 */
export function channelRuntimeClient(stream: Duplex, url: string): { client: RuntimeClient; answer(message: AnswerMessage): void } {
  let next = 1;
  const waiting = new Map<number, { resolve(body: unknown): void; reject(error: unknown): void }>();
  const ask = (message: { type: 'read'; name: string } | { type: 'list' }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      sendLine(stream, { ...message, id });
    });
  return {
    client: {
      url,
      async readSecret(name, agent) {
        if (typeof name !== 'string' || name === '') {
          throw new SecretsError('get_secret needs the secret\'s name, e.g. get_secret("stripe_api_key").', { code: 'invalid_input', status: 0, secret: name, agent });
        }
        return (await ask({ type: 'read', name })) as SecretRead;
      },
      async listReadableSecrets() {
        return (await ask({ type: 'list' })) as ReadableSecrets;
      },
    },
    answer(message) {
      const waiter = waiting.get(message.id);
      if (!waiter) return;
      waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.body);
      else waiter.reject(fromWire(message.error));
    },
  };
}
