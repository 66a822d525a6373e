import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { UsageError } from '../configError.js';
import { Masker, StreamMasker } from '../../sdk/masking.js';
import { runtimeClient } from '../../sdk/runtimeClient.js';
import { AGENT_KEY_ENV } from './agentKey.js';
import { parseSecretRequest, variablesFor } from './envNames.js';
import { waitForChild } from './signals.js';

/**
 * `agent-secrets exec`: reads the named secrets once, starts COMMAND with them as environment
 * variables (as `infisical run` and `doppler run` do), relays its output with every value masked, and
 * ends with its exit code. The command inherits this shell's environment minus the credentials that
 * unlock other secrets (agent key, management token, master key, database URL): it gets exactly the
 * secrets it was given.
 */
const WITHHELD = [AGENT_KEY_ENV, 'AGENT_SECRETS_TOKEN', 'AGENT_SECRETS_MASTER_KEY', 'AGENT_SECRETS_DATABASE_URL'];

function relay(from: Readable, to: Writable, masker: Masker): Promise<void> {
  const stream = new StreamMasker(masker);
  const decoder = new StringDecoder('utf8');
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => {
      const text = stream.push(decoder.write(chunk));
      if (text) to.write(text);
    });
    from.on('close', () => {
      const text = stream.push(decoder.end()) + stream.end();
      if (text) to.write(text);
      resolve();
    });
  });
}

export async function execWithSecrets(options: { agentKey: string; url: string; secrets: string[]; command: string[] }): Promise<number> {
  const [command, ...commandArgs] = options.command;
  if (command === undefined) throw new UsageError('give the command after --, e.g. agent-secrets exec --secret stripe_api_key -- node server.js');
  if (options.secrets.length === 0) throw new UsageError('give at least one --secret NAME[=ENV_VAR]');
  const requests = options.secrets.map(parseSecretRequest);

  const client = runtimeClient({ agentKey: options.agentKey, url: options.url });
  const masker = new Masker();
  masker.remember(options.agentKey);
  const variables = new Map<string, { secret: string; value: string }>();
  for (const request of requests) {
    const { value } = await client.readSecret(request.secret);
    masker.remember(value);
    for (const [name, item] of variablesFor(request.variable, value)) {
      const taken = variables.get(name);
      if (taken) throw new UsageError(`secrets "${taken.secret}" and "${request.secret}" both want the variable ${name}; name one with --secret NAME=ENV_VAR`);
      variables.set(name, { secret: request.secret, value: item });
    }
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of WITHHELD) delete env[name];
  for (const [name, { value }] of variables) env[name] = value;

  const child = spawn(command, commandArgs, { env, stdio: ['inherit', 'pipe', 'pipe'] });
  const relayed = Promise.all([relay(child.stdout, process.stdout, masker), relay(child.stderr, process.stderr, masker)]);
  try {
    const code = await waitForChild(child);
    await relayed;
    return code;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') {
      process.stderr.write(`agent-secrets: cannot start "${command}": no such command\n`);
      return 127;
    }
    if ((error as { code?: string }).code === 'EACCES') {
      process.stderr.write(`agent-secrets: cannot start "${command}": permission denied\n`);
      return 126;
    }
    throw error;
  }
}
