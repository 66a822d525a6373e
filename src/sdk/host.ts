import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL } from 'node:url';
import { buildConv, FUNCTION_ENVS, type AgentFunction } from './conv.js';
import { describeFailure, rememberFetchOrigins } from './failures.js';
import { toPrintable } from './format.js';
import { CHANNEL_FD, channelRuntimeClient, readLines, sendLine, type AnswerMessage, type RunMessage, type ToHost } from './hostChannel.js';
import { formatLogLine } from './log.js';
import { Masker, StreamMasker } from './masking.js';

/**
 * The child process of `agent-secrets run`: hosts one agent function, inside the runner's sandbox
 * (src/cli/functions/sandbox.ts). It holds no agent key and starts with an empty environment: the file,
 * its arguments, env and the agent's identity arrive over the function channel (fd 3, see
 * hostChannel.ts), and every get_secret is a request on that channel, answered by the runner.
 *
 * Output: everything the function prints (conv.log, console.*, process.stdout/stderr) goes to standard
 * error, masked here and masked again by the runner, which relays descriptors 1 and 2 (also raw
 * fs.writeSync writes); the result travels over the channel, and the runner alone prints it on its
 * standard output. A failure ends with one line `agent-secrets: function failed: <name>: <message>`
 * (src/sdk/failures.ts; the stack with `run --verbose`), masked, and exit code 1.
 */

const realStderr = process.stderr.write.bind(process.stderr);
const masker = new Masker();
const channel = openChannel();

function openChannel(): Socket {
  let isSocket = false;
  try {
    isSocket = fstatSync(CHANNEL_FD).isSocket();
  } catch {
    // not open
  }
  if (!isSocket) {
    realStderr('agent-secrets: this is the host process of `agent-secrets run`; use that command\n');
    process.exit(1);
  }
  return new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
}

/** Routes the process's own stdout and stderr through one masking stream onto standard error. */
function maskProcessOutput(): { flush(): void } {
  const stream = new StreamMasker(masker);
  const decoder = new StringDecoder('utf8');
  const capture = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string'
      ? decoder.end() + (typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding as BufferEncoding).toString('utf8') : chunk)
      : decoder.write(Buffer.from(chunk as Uint8Array));
    const masked = stream.push(text);
    if (masked) realStderr(masked);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  return {
    flush() {
      const rest = stream.push(decoder.end()) + stream.end();
      if (rest) realStderr(rest);
    },
  };
}

const output = maskProcessOutput();
let finishing = false;

function finish(code: number, result?: string): void {
  if (finishing) return;
  finishing = true;
  output.flush();
  if (result !== undefined) sendLine(channel, { type: 'result', text: result });
  // Exits even when the function left timers or sockets open: its turn of the conversation is over.
  channel.end(() => process.exit(code));
}

/** `run --verbose`: a failure shows its whole stack. */
let verbose = false;

function fail(prefix: string, thrown: unknown): void {
  if (finishing) return;
  const text = describeFailure(prefix, thrown, verbose);
  output.flush();
  realStderr(masker.mask(text));
  finish(1);
}

/** Says hello, then waits for the runner's run message; answers to reads go to the client. */
function connect(answer: (message: AnswerMessage) => void): Promise<RunMessage> {
  return new Promise((resolvePromise, reject) => {
    let run: RunMessage | undefined;
    readLines(channel, (message) => {
      const typed = message as ToHost;
      if (typed.type === 'run' && run === undefined) {
        run = typed;
        resolvePromise(typed);
      } else if (typed.type === 'answer') answer(typed);
    });
    // The runner is gone (it was stopped): so is this turn.
    channel.on('close', () => (run === undefined ? reject(new Error('the runner closed the function channel')) : process.exit(1)));
    channel.on('error', () => undefined);
    sendLine(channel, { type: 'hello' });
  });
}

async function loadFunction(file: string): Promise<AgentFunction<unknown>> {
  const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  let candidate = module.default;
  // A CommonJS file compiled from `export default` arrives wrapped once more.
  if (typeof candidate === 'object' && candidate !== null && 'default' in candidate) candidate = (candidate as { default: unknown }).default;
  if (typeof candidate !== 'function') {
    throw new TypeError(`${file} must export a default function: export default async (conv, args) => result`);
  }
  return candidate as AgentFunction<unknown>;
}

async function main(): Promise<void> {
  const reads = channelRuntimeClient(channel, 'agent-secrets run');
  const request = await connect(reads.answer);
  const env = FUNCTION_ENVS.includes(request.env) ? request.env : 'sandbox';
  verbose = request.verbose === true;
  rememberFetchOrigins();
  const conv = buildConv({
    client: reads.client,
    agent: request.agent,
    account: request.account,
    env,
    masker,
    logSink: (entry) => process.stderr.write(`${formatLogLine(entry)}\n`),
  });

  let fn: AgentFunction<unknown>;
  try {
    fn = await loadFunction(request.file);
  } catch (error) {
    return fail(`cannot load ${request.file}: `, error);
  }

  process.on('uncaughtException', (error) => fail('function failed: ', error));
  process.on('unhandledRejection', (reason) => fail('function failed: ', reason));
  try {
    const result = await fn(conv, request.args);
    finish(0, result === undefined ? undefined : masker.mask(toPrintable(result, 2)));
  } catch (error) {
    fail('function failed: ', error);
  }
}

void main().catch((error: unknown) => fail('', error));
