import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL } from 'node:url';
import { createConv, FUNCTION_ENVS, type AgentFunction, type FunctionEnv } from './conv.js';
import { SecretsError } from './errors.js';
import { describeThrown, toPrintable } from './format.js';
import { formatLogLine } from './log.js';
import { Masker, StreamMasker } from './masking.js';

/**
 * The child process of `agent-secrets run`: hosts one agent function. Started with a clean
 * environment holding only AGENT_SECRETS_AGENT_KEY and AGENT_SECRETS_URL; the file, its arguments and
 * its env arrive over the IPC channel (arguments can be personal data: they stay out of argv).
 *
 * Output: everything the function prints (conv.log, console.*, process.stdout/stderr) goes to standard
 * error, masked; standard output carries only the result as JSON, masked; a failure ends with one line
 * `agent-secrets: function failed: <name>: <message>`, masked, and exit code 1.
 */

interface RunRequest {
  file: string;
  args: unknown;
  env: FunctionEnv;
}

const realStdout = process.stdout.write.bind(process.stdout);
const realStderr = process.stderr.write.bind(process.stderr);
const masker = new Masker();

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

function finish(code: number, result?: string): never {
  output.flush();
  if (result !== undefined) realStdout(`${result}\n`);
  // Exits even when the function left timers or sockets open: its turn of the conversation is over.
  process.exit(code);
}

function fail(prefix: string, thrown: unknown): never {
  const { name, message, stack } = describeThrown(thrown);
  let text = `agent-secrets: ${prefix}${name}: ${message}\n`;
  // SDK errors explain themselves; for a bug in the function its stack is what the author needs.
  if (!(thrown instanceof SecretsError) && stack) {
    const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
    if (frames.length > 0) text += `${frames.join('\n')}\n`;
  }
  output.flush();
  realStderr(masker.mask(text));
  return finish(1);
}

function nextRequest(): Promise<RunRequest> {
  return new Promise((resolvePromise, reject) => {
    if (!process.send) {
      reject(new Error('this is the host process of `agent-secrets run`; use that command'));
      return;
    }
    process.once('message', (message: RunRequest) => {
      // Disconnecting inside the message handler trips Node; a closed channel lets the process end.
      setImmediate(() => process.disconnect?.());
      resolvePromise(message);
    });
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
  const request = await nextRequest();
  const agentKey = process.env.AGENT_SECRETS_AGENT_KEY ?? '';
  const url = process.env.AGENT_SECRETS_URL;
  // The function reaches the vault through conv only; neither it nor what it starts inherits the key.
  delete process.env.AGENT_SECRETS_AGENT_KEY;
  masker.remember(agentKey);
  const env = FUNCTION_ENVS.includes(request.env) ? request.env : 'sandbox';

  let conv;
  try {
    conv = await createConv({ agentKey, url, env, masker, logSink: (entry) => process.stderr.write(`${formatLogLine(entry)}\n`) });
  } catch (error) {
    return fail('', error);
  }

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
