import { spawn } from 'node:child_process';
import { UsageError } from '../configError.js';
import { Masker } from '../../sdk/masking.js';
import { runtimeClient } from '../../sdk/runtimeClient.js';
import { CREDENTIAL_VARIABLES } from './agentKey.js';
import { parseSecretRequest, variablesFor } from './envNames.js';
import { relayMasked } from './relay.js';
import { waitForChild } from './signals.js';

/**
 * `agent-secrets exec`: reads the named secrets once, starts COMMAND with them as environment
 * variables (as `infisical run` and `doppler run` do), relays its output with every value masked, and
 * ends with its exit code. The command inherits this shell's environment minus the credentials that
 * unlock other secrets (agent key, management token, master key, database URL): it gets exactly the
 * secrets it was given.
 */

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
  for (const name of CREDENTIAL_VARIABLES) delete env[name];
  for (const [name, { value }] of variables) env[name] = value;

  const child = spawn(command, commandArgs, { env, stdio: ['inherit', 'pipe', 'pipe'] });
  const relayed = Promise.all([relayMasked(child.stdout, process.stdout, masker), relayMasked(child.stderr, process.stderr, masker)]);
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
