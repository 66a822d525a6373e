import { Command, InvalidArgumentError } from 'commander';
import { serviceUrl } from '../api.js';
import { printJson } from '../output.js';
import { agentKeyFrom, asCliError } from '../functions/agentKey.js';
import { printReadable, readableSecrets, SNIPPET_LANGUAGES, type SnippetLanguage } from '../functions/available.js';
import { execWithSecrets } from '../functions/exec.js';
import { parseArgs, parseEnv, runFunctionFile } from '../functions/run.js';
import type { FunctionEnv } from '../../sdk/conv.js';

/**
 * Commands for agent functions (SPEC S9–S12): `run`, `exec` and `secrets available`. They talk only
 * to the run-time API with an agent key (--agent-key or AGENT_SECRETS_AGENT_KEY) at AGENT_SECRETS_URL.
 */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const withCliErrors = <A extends unknown[]>(action: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (error) {
      throw asCliError(error);
    }
  };

export function functionCommands(program: Command, secrets: Command): void {
  program
    .command('run')
    .description('run one agent function file (.ts, .js or .py) with a conv object, in a sandbox; prints its logs (stderr) and result (stdout), masked')
    .argument('<file>', 'a module whose default export is async (conv, args) => result')
    .option('--agent-key <key>', 'the agent\'s key (or AGENT_SECRETS_AGENT_KEY)')
    .option('--args <json>', 'the arguments, as JSON', parseArgs, {})
    .option('--env <env>', 'check that the agent key is a key of this environment (sandbox, pre-release or live); the key says where the function runs, and conv.env says it', parseEnv)
    .option('--no-sandbox', 'run the function without the sandbox (bubblewrap): it can then read what your user can, other processes\' environments included')
    .option('--verbose', 'when the function fails, show the whole stack of what it threw')
    .action(
      withCliErrors(async (file: string, flags: { agentKey?: string; args: unknown; env?: FunctionEnv; sandbox: boolean; verbose?: boolean }) => {
        const agentKey = agentKeyFrom(flags.agentKey);
        process.exitCode = await runFunctionFile({ file, args: flags.args, env: flags.env, agentKey, url: serviceUrl(), sandbox: flags.sandbox, verbose: flags.verbose === true });
      }),
    );

  program
    .command('exec')
    .description('start a command with secrets as environment variables, masking them in its output')
    .usage('--agent-key KEY --secret NAME[=ENV_VAR] ... -- COMMAND [args...]')
    .argument('<command...>', 'the command and its arguments, after --')
    // Everything after COMMAND is COMMAND's own, even when it looks like an option of ours.
    .passThroughOptions()
    .option('--agent-key <key>', 'the agent\'s key (or AGENT_SECRETS_AGENT_KEY)')
    .option('--secret <name[=ENV_VAR]>', 'a secret to pass; repeat for each (key/value secrets: ENV_VAR_KEY per key)', collect, [])
    .action(
      withCliErrors(async (command: string[], flags: { agentKey?: string; secret: string[] }) => {
        const agentKey = agentKeyFrom(flags.agentKey);
        process.exitCode = await execWithSecrets({ agentKey, url: serviceUrl(), secrets: flags.secret, command });
      }),
    );

  secrets
    .command('available')
    .description('the secrets an agent can read, with a ready-to-paste snippet each (never values)')
    .option('--agent-key <key>', 'the agent\'s key (or AGENT_SECRETS_AGENT_KEY)')
    .option('--lang <language>', `snippet language: ${SNIPPET_LANGUAGES.join(', ')}`, (text: string) => {
      if (!(SNIPPET_LANGUAGES as readonly string[]).includes(text)) throw new InvalidArgumentError(`--lang must be one of ${SNIPPET_LANGUAGES.join(', ')}`);
      return text as SnippetLanguage;
    }, 'typescript' as SnippetLanguage)
    .option('--json', 'JSON output')
    .action(
      withCliErrors(async (flags: { agentKey?: string; lang: SnippetLanguage; json?: boolean }) => {
        const list = await readableSecrets(agentKeyFrom(flags.agentKey), serviceUrl());
        if (flags.json) printJson(list);
        else printReadable(list, flags.lang);
      }),
    );
}
