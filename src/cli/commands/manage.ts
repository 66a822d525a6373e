import { Command } from 'commander';
import { apiClient, enc, type ApiClient } from '../api.js';
import { UsageError } from '../configError.js';
import { emit, printTable } from '../output.js';
import { environmentOption } from './environments.js';
import { secretCommands } from './secrets.js';

/** Management commands over the HTTP API (AGENT_SECRETS_URL, AGENT_SECRETS_TOKEN): agents, keys, tokens; secrets and access in secrets.ts. */

export function manageCommands(program: Command, api: () => ApiClient = () => apiClient()): { secrets: Command; keys: Command } {
  const secrets = secretCommands(program, api);

  const agents = program.command('agents').description("the account's agents");
  agents
    .command('list')
    .description('list the account\'s agents')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => {
      const { agents: rows } = await api().request<{ agents: Array<Record<string, unknown>> }>('GET', '/api/v1/agents');
      emit(flags.json, rows, (list) => printTable(list, [['name', 'NAME'], ['id', 'ID'], ['createdAt', 'CREATED'], ['createdBy', 'BY']]));
    });
  agents
    .command('create')
    .description('create an agent (then a key for it: keys create AGENT)')
    .argument('<name>', 'letters, digits, spaces, "_", "-", "." (e.g. booking)')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
      const agent = await api().request<{ id: string; name: string }>('POST', '/api/v1/agents', { name });
      emit(flags.json, agent, (a) => process.stdout.write(`Created agent "${a.name}" (${a.id}).\n`));
    });
  agents
    .command('rename')
    .description('rename an agent (its id, keys and grants stay)')
    .argument('<agent>', 'name or id')
    .argument('<new-name>')
    .action(async (agent: string, name: string) => {
      await api().request('PATCH', `/api/v1/agents/${enc(agent)}`, { name });
      process.stdout.write(`Renamed agent "${agent}" to "${name}".\n`);
    });
  agents
    .command('delete')
    .description('delete an agent with its keys and grants')
    .argument('<agent>')
    .requiredOption('--confirm <agent>', 'type the agent again to confirm')
    .action(async (agent: string, flags: { confirm: string }) => {
      if (flags.confirm !== agent) throw new UsageError(`--confirm must repeat "${agent}"`);
      await api().request('DELETE', `/api/v1/agents/${enc(agent)}`);
      process.stdout.write(`Deleted agent "${agent}".\n`);
    });

  const keys = program.command('keys').description("agents' keys (used by their functions at run time); operators also rotate the master and data keys here");
  keys
    .command('list')
    .description('an agent\'s keys, revoked ones too (never the keys themselves)')
    .argument('<agent>', 'name or id')
    .option('--json', 'JSON output')
    .action(async (agent: string, flags: { json?: boolean }) => {
      const { keys: rows } = await api().request<{ keys: Array<Record<string, unknown>> }>('GET', `/api/v1/agents/${enc(agent)}/keys`);
      emit(flags.json, rows, (list) => printTable(list, [['id', 'ID'], ['name', 'NAME'], ['environment', 'ENVIRONMENT'], ['createdAt', 'CREATED'], ['createdBy', 'BY'], ['revokedAt', 'REVOKED']]));
    });
  keys
    .command('create')
    .description('create an agent key (shown once)')
    .argument('<agent>', 'name or id')
    .option('--name <name>', 'a label for the key', 'default')
    .addOption(environmentOption('where its functions run; fixed for the key\'s life').default('live'))
    .option('--json', 'JSON output')
    .action(async (agent: string, flags: { name: string; env: string; json?: boolean }) => {
      const key = await api().request<{ id: string; key: string; agent: string; environment: string }>('POST', `/api/v1/agents/${enc(agent)}/keys`, { name: flags.name, environment: flags.env });
      emit(flags.json, key, (k) => process.stdout.write(`Created ${k.environment} key ${k.id} for agent "${k.agent}". Shown only now:\n${k.key}\n`));
    });
  keys
    .command('revoke')
    .description('revoke an agent key: it is refused from the next call')
    .argument('<agent>', 'name or id')
    .argument('<key-id>', 'key_… (keys list AGENT)')
    .action(async (agent: string, id: string) => {
      await api().request('DELETE', `/api/v1/agents/${enc(agent)}/keys/${enc(id)}`);
      process.stdout.write(`Revoked key ${id}.\n`);
    });

  const tokens = program.command('tokens').description('your personal access tokens');
  tokens
    .command('list')
    .description('your personal access tokens (never the tokens themselves)')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => {
      const { tokens: rows } = await api().request<{ tokens: Array<Record<string, unknown>> }>('GET', '/api/v1/tokens');
      emit(flags.json, rows, (list) => printTable(list, [['id', 'ID'], ['name', 'NAME'], ['createdAt', 'CREATED'], ['revokedAt', 'REVOKED']]));
    });
  tokens
    .command('create')
    .description('create a personal access token (shown once)')
    .argument('<name>', 'a label, e.g. laptop')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
      const token = await api().request<{ id: string; token: string }>('POST', '/api/v1/tokens', { name });
      emit(flags.json, token, (t) => process.stdout.write(`Created token ${t.id}. Shown only now:\n${t.token}\n`));
    });
  tokens
    .command('revoke')
    .description('revoke one of your tokens: it gets 401 from the next call')
    .argument('<id>', 'tok_… (tokens list)')
    .action(async (id: string) => {
      await api().request('DELETE', `/api/v1/tokens/${enc(id)}`);
      process.stdout.write(`Revoked token ${id}.\n`);
    });

  return { secrets, keys };
}
