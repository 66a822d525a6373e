import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../configError.js';
import { environmentMismatch, FUNCTION_ENVS, type FunctionEnv } from '../../sdk/conv.js';
import { SecretsError } from '../../sdk/errors.js';
import { describeThrown } from '../../sdk/format.js';
import { readLines, sendLine, toWire, type FromHost, type RunMessage, type WireError } from '../../sdk/hostChannel.js';
import { Masker } from '../../sdk/masking.js';
import { runtimeClient, type BrokeredRequest, type RuntimeClient } from '../../sdk/runtimeClient.js';
import { maskedWriter } from './relay.js';
import { hostCommand } from './runtimes.js';
import { sandboxedCommand, unsandboxedCommand, WITHOUT_SANDBOX, type LaunchPlan } from './sandbox.js';
import { waitForChild } from './signals.js';

/**
 * `agent-secrets run`: one function file in a sandboxed child process (sandbox.ts) that holds the
 * agent's capability and nothing more. The runner keeps the agent key: the child asks it over the
 * function channel (descriptor 3, src/sdk/hostChannel.ts) for every read, and the runner asks the
 * service, every time (SPEC S7), so it knows every value the function got. It relays the child's
 * descriptors 1 and 2 to standard error with those values masked, and alone writes standard output:
 * the function's result, masked.
 */
const FUNCTION_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.py']);

export function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError('--args must be JSON, e.g. --args \'{"guests": 2}\'');
  }
}

export function parseEnv(text: string): FunctionEnv {
  if (!(FUNCTION_ENVS as readonly string[]).includes(text)) throw new InvalidArgumentError(`--env must be one of ${FUNCTION_ENVS.join(', ')}`);
  return text as FunctionEnv;
}

export interface RunOptions {
  file: string;
  args: unknown;
  /** The environment the caller expects: the key's must be it. The key's own is what the function gets. */
  env?: FunctionEnv | undefined;
  agentKey: string;
  url: string;
  /** false with --no-sandbox. */
  sandbox: boolean;
  /** --verbose: a failing function shows its whole stack. */
  verbose?: boolean;
}

export async function runFunctionFile(options: RunOptions): Promise<number> {
  const file = resolve(options.file);
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`no function file at ${options.file}`);
  if (!FUNCTION_EXTENSIONS.has(extname(file))) throw new UsageError(`${options.file} is not a .ts, .js or .py file`);

  const command = await hostCommand(file);
  const plan = options.sandbox ? sandboxedCommand(command, { cwd: process.cwd() }) : unsandboxedCommand(command, {});

  const masker = new Masker();
  masker.remember(options.agentKey);
  const client = runtimeClient({ agentKey: options.agentKey, url: options.url });
  let identity;
  try {
    // A bad key, a disabled vault or an unreachable service stop the run before the function starts.
    identity = await client.listReadableSecrets();
  } catch (error) {
    if (!(error instanceof SecretsError)) throw error;
    process.stderr.write(masker.mask(`agent-secrets: ${error.name}: ${error.message}\n`));
    return 1;
  }
  if (options.env !== undefined && options.env !== identity.environment) {
    process.stderr.write(`agent-secrets: --env ${options.env}: ${environmentMismatch(options.env, identity.environment).message}\n`);
    return 1;
  }
  if (!options.sandbox) process.stderr.write(`agent-secrets: running without a sandbox (--no-sandbox): ${WITHOUT_SANDBOX}\n`);
  return runHosted(plan, { file, args: options.args, env: identity.environment, agent: identity.agent, account: identity.account, verbose: options.verbose === true }, client, masker, options.sandbox);
}

/** Starts the host, answers its reads, relays its output masked; the exit code a shell would report. */
async function runHosted(plan: LaunchPlan, run: Omit<RunMessage, 'type'>, client: RuntimeClient, masker: Masker, sandboxed: boolean): Promise<number> {
  const child = spawn(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const channel = child.stdio[3] as Duplex;
  const stderr = maskedWriter(process.stderr, masker);
  // Until the host says hello, what comes on standard error is the sandbox's or runtime's own complaint.
  let started = false;
  const early: Buffer[] = [];
  let result: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (started ? stderr.write(chunk) : early.push(chunk)));
  const stderrClosed = new Promise<void>((done) => child.stderr?.on('close', () => done()));
  // A channel that breaks its protocol (not JSON, a line too long) ends the run: no read can be answered.
  channel.on('error', () => child.kill('SIGKILL'));

  const answer = async (id: number, ask: () => Promise<unknown>) => {
    try {
      sendLine(channel, { type: 'answer', id, ok: true, body: await ask() });
    } catch (error) {
      const wire: WireError = error instanceof SecretsError ? toWire(error) : { name: 'SecretsError', message: describeThrown(error).message, code: 'error', status: 0 };
      sendLine(channel, { type: 'answer', id, ok: false, error: wire });
    }
  };
  readLines(channel, (message) => {
    const typed = message as Partial<FromHost> & { id?: unknown; name?: unknown; text?: unknown };
    if (typed.type === 'hello' && !started) {
      started = true;
      for (const chunk of early.splice(0)) stderr.write(chunk);
      sendLine(channel, { type: 'run', ...run });
    } else if (!started) {
      // Nothing counts before the hello.
    } else if (typed.type === 'result' && typeof typed.text === 'string') {
      result = typed.text;
    } else if (typeof typed.id !== 'number') {
      // Not a request.
    } else if (typed.type === 'read' && typeof typed.name === 'string') {
      const name = typed.name;
      void answer(typed.id, async () => {
        const secret = await client.readSecret(name, run.agent);
        // Remembered before the function can see it: everything it writes from now on is masked.
        masker.remember(secret.value);
        return secret;
      });
    } else if (typed.type === 'list') {
      void answer(typed.id, () => client.listReadableSecrets());
    } else if (typed.type === 'request' && typeof (typed as { request?: unknown }).request === 'object' && (typed as { request?: unknown }).request !== null) {
      // The service checks the request's shape; the runner adds its key and passes the scrubbed answer on.
      const request = (typed as { request: BrokeredRequest }).request;
      void answer(typed.id, () => client.sendRequest(request));
    }
  });

  let code: number;
  try {
    code = await waitForChild(child);
  } catch (error) {
    throw new UsageError(`cannot start ${plan.command}: ${(error as { code?: string }).code ?? describeThrown(error).message}`);
  }
  await stderrClosed;
  if (!started) {
    // bubblewrap could not make the sandbox (no namespaces here), or the runtime failed before our host ran.
    const complaint = Buffer.concat(early).toString('utf8').trim().split('\n')[0] || `exit code ${code}`;
    const line = sandboxed && complaint.startsWith('bwrap:')
      ? `agent-secrets: cannot sandbox the function (${complaint}); or run it with --no-sandbox, but ${WITHOUT_SANDBOX}\n`
      : `agent-secrets: the function's runtime did not start (${complaint})\n`;
    process.stderr.write(masker.mask(line));
    return code === 0 ? 1 : code;
  }
  stderr.end();
  if (code === 0 && result !== undefined) process.stdout.write(`${masker.mask(result)}\n`);
  return code;
}
