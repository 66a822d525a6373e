import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { AccessList, SecretDetail, SecretPage, SecretSummary } from '../../contract/api.js';
import { RESERVED_KEY_NAMES, RESERVED_KEY_RULE } from '../../domain/names.js';
import { closestName, didYouMean } from '../../domain/suggest.js';
import { ApiError, enc, type ApiClient } from '../api.js';
import { UsageError } from '../configError.js';
import { emit, printTable } from '../output.js';
import { escapeTerminalControls } from '../terminal.js';
import { environmentCommands, environmentOption, printEnvironments } from './environments.js';

/** `secrets` and `access`: secret management over the HTTP API (AGENT_SECRETS_URL, AGENT_SECRETS_TOKEN). */

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const keyValue = (text: string, previous: Record<string, string> = {}): Record<string, string> => {
  const at = text.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('must be KEY=VALUE');
  const key = text.slice(0, at);
  // Said here, before anything is sent: the service refuses them too (SPEC S1, domain/names.ts).
  if (RESERVED_KEY_NAMES.has(key)) throw new InvalidArgumentError(`${key}: ${RESERVED_KEY_RULE}`);
  return { ...previous, [key]: text.slice(at + 1) };
};

interface ValueFlags {
  value?: string;
  kv?: Record<string, string>;
  stdin?: boolean;
  stdinJson?: boolean;
  file?: string;
}

function addValueOptions(command: Command): Command {
  return command
    .option('--value <value>', 'a single value (visible in shell history: prefer --stdin)')
    .option('--kv <key=value>', 'a key/value pair; repeat for each key', keyValue)
    .option('--stdin', 'read a single value from standard input (one trailing newline is dropped)')
    .option('--stdin-json', 'read a JSON string or object of strings from standard input')
    .option('--file <file>', 'read a single value from a file (as is)');
}

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

/** The value the flags describe, or undefined when none was given. Exactly one source is allowed. */
function valueFrom(flags: ValueFlags): unknown {
  const sources = [flags.value !== undefined, flags.kv !== undefined, !!flags.stdin, !!flags.stdinJson, flags.file !== undefined].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give the value one way only: --value, --kv, --stdin, --stdin-json or --file');
  if (flags.value !== undefined) return flags.value;
  if (flags.kv !== undefined) return flags.kv;
  if (flags.stdin) return readStdin().replace(/\r?\n$/, '');
  if (flags.stdinJson) {
    try {
      return JSON.parse(readStdin()) as unknown;
    } catch {
      throw new UsageError('standard input is not valid JSON');
    }
  }
  if (flags.file !== undefined) return readFileSync(flags.file, 'utf8');
  return undefined;
}

/**
 * What `secrets set` asks of the API: `--kv` and `--remove-key` change only the keys they name
 * (`valueKeys`), so rotating client_secret keeps client_id; `--replace` and every other source
 * replace the whole value.
 */
function valueChangeFrom(flags: ValueFlags & { replace?: boolean; removeKey?: string[] }): { value?: unknown; valueKeys?: Record<string, string | null> } {
  const removals = flags.removeKey ?? [];
  if (flags.replace && removals.length > 0) throw new UsageError('--remove-key changes a value in place; with --replace, list the keys to keep with --kv');
  if (flags.kv !== undefined && !flags.replace) {
    if (valueFrom({ ...flags, kv: undefined }) !== undefined) throw new UsageError('give the value one way only: --value, --kv, --stdin, --stdin-json or --file');
    const removed = removals.find((key) => Object.hasOwn(flags.kv ?? {}, key));
    if (removed !== undefined) throw new UsageError(`--kv and --remove-key both name "${removed}"`);
    return { valueKeys: { ...flags.kv, ...Object.fromEntries(removals.map((key) => [key, null])) } };
  }
  const value = valueFrom(flags);
  if (flags.replace && value === undefined) throw new UsageError('--replace needs the new value: --kv KEY=VALUE (repeat), --stdin-json, --value, --stdin or --file');
  if (removals.length > 0) {
    if (value !== undefined) throw new UsageError('--remove-key changes a key/value secret in place: not with --value, --stdin, --stdin-json or --file');
    return { valueKeys: Object.fromEntries(removals.map((key) => [key, null])) };
  }
  return value === undefined ? {} : { value };
}

function printSecret(secret: SecretSummary & { environments?: SecretDetail['environments'] }): void {
  const lines = [
    ['name', secret.name],
    ['description', secret.description || '-'],
    ['kind', secret.kind === 'kv' ? `key/value (${secret.keys.join(', ')})` : 'single value'],
    ['version', `${secret.version} (the default)`],
    ['overrides', secret.overrides.length === 0 ? 'none' : secret.overrides.map((o) => `${o.environment} (version ${o.version})`).join(', ')],
    ['agents with access', String(secret.agentsWithAccess)],
    ['updated', `${secret.updatedAt} by ${secret.updatedBy}`],
    ['last read', secret.lastReadAt ?? 'never'],
    ['allowed hosts', secret.allowedHosts.length > 0 ? secret.allowedHosts.join(', ') : 'none (cannot be brokered)'],
    ['delivery', secret.delivery === 'broker-only' ? 'broker-only (conv.http.fetch only)' : 'value (get_secret and conv.http.fetch)'],
    ['reveal', secret.reveal === 'never' ? 'never (set, never shown)' : 'allowed'],
  ];
  process.stdout.write(`${lines.map(([k, v]) => `${(k ?? '').padEnd(19)} ${escapeTerminalControls(v ?? '')}`).join('\n')}\n`);
  if (secret.environments) {
    process.stdout.write('\n');
    printEnvironments(secret.environments);
  }
}

function printAccess(access: AccessList): void {
  printTable(
    access.agents.map((a) => ({
      ...a,
      access: a.granted ? 'yes' : 'no',
      lastRead: a.lastReadAt ?? (a.granted ? 'not yet' : '-'),
      byEnvironment: a.lastReads.map((r) => `${r.environment}: v${r.version} ${r.at}`).join('; ') || '-',
    })),
    [
      ['agentName', 'AGENT'],
      ['agentId', 'ID'],
      ['access', 'ACCESS'],
      // Under the current grant, as the console says it: a revoke and a re-grant start again at "not yet"
      // (S15: grants never used), while `secrets list` shows the last read by any agent, ever.
      ['lastRead', 'READ SINCE GRANTED'],
      // Only once some agent has read it: before that the column would say nothing.
      ...(access.agents.some((a) => a.lastReads.length > 0) ? ([['byEnvironment', 'LAST READ PER ENVIRONMENT (VERSION)']] as Array<[string, string]>) : []),
    ],
  );
}

/** The list's columns; OVERRIDES only when some secret has a value of its own in an environment. */
const secretColumns = (withOverrides: boolean): Array<[string, string]> => [
  ['name', 'NAME'],
  ['kindLabel', 'KIND'],
  ['version', 'VERSION'],
  ...(withOverrides ? ([['overridden', 'OVERRIDES']] as Array<[string, string]>) : []),
  ['agentsWithAccess', 'AGENTS'],
  ['updatedAt', 'UPDATED'],
  ['updatedBy', 'BY'],
  // By any agent, kept across revokes (the access list's is per grant).
  ['lastRead', 'LAST READ'],
];

/**
 * The list's short form of S25/S27: how functions use it, whether people may see it, where it may be
 * brokered. A column only when some listed secret has one of them, so plain lists keep their shape.
 */
const useLabel = (s: SecretSummary): string =>
  [s.delivery === 'broker-only' ? 'broker-only' : 'value', ...(s.reveal === 'never' ? ['never-revealed'] : []), ...(s.allowedHosts.length > 0 ? [`hosts:${s.allowedHosts.length}`] : [])].join(',');
const usesBroker = (s: SecretSummary): boolean => s.delivery === 'broker-only' || s.reveal === 'never' || s.allowedHosts.length > 0;

/** S25, S27 flags, shared by create and set. */
function addBrokerOptions(command: Command): Command {
  return command
    .option('--allowed-host <host>', 'a host brokered requests may send it to (api.stripe.com, *.example.com, host:port); repeat for each', collect)
    .option('--no-allowed-hosts', 'clear the allowed hosts (it can no longer be brokered)')
    .option('--delivery <delivery>', '"value" (get_secret and conv.http.fetch) or "broker-only" (conv.http.fetch only)')
    .option('--reveal <reveal>', '"allowed" or "never" (nobody can reveal or copy it again; for good)');
}

interface BrokerFlags {
  allowedHost?: string[];
  /** false with --no-allowed-hosts. */
  allowedHosts?: boolean;
  delivery?: string;
  reveal?: string;
}

/** The fields the flags set; the service checks them (400 naming the field). */
function brokerFields(flags: BrokerFlags): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (flags.allowedHosts === false) {
    if (flags.allowedHost?.length) throw new UsageError('give --allowed-host or --no-allowed-hosts, not both');
    fields.allowedHosts = [];
  } else if (flags.allowedHost !== undefined) fields.allowedHosts = flags.allowedHost;
  if (flags.delivery !== undefined) fields.delivery = flags.delivery;
  if (flags.reveal !== undefined) fields.reveal = flags.reveal;
  return fields;
}

/** The `secrets` and `access` commands; answers `secrets` so that main can add its help to it. */
export function secretCommands(program: Command, api: () => ApiClient): Command {
  const secrets = program.command('secrets').description('create, list, rotate and delete secrets');
  secrets
    .command('list')
    .description('list secrets (never values)')
    .option('--search <text>', 'only names containing this')
    .option('--json', 'JSON output')
    .action(async (flags: { search?: string; json?: boolean }) => {
      const all: SecretSummary[] = [];
      let after: string | null = null;
      do {
        const query = new URLSearchParams({ limit: '500', ...(flags.search ? { search: flags.search } : {}), ...(after ? { after } : {}) });
        const page: SecretPage = await api().request('GET', `/api/v1/secrets?${query}`);
        all.push(...page.secrets);
        after = page.next;
      } while (after);
      emit(flags.json, all, (rows) =>
        printTable(
          rows.map((s) => ({
            ...s,
            kindLabel: s.kind === 'kv' ? `kv(${s.keys.join(',')})` : 'single',
            overridden: s.overrides.map((o) => o.environment).join(',') || '-',
            lastRead: s.lastReadAt ?? 'never',
            use: useLabel(s),
          })),
          [...secretColumns(rows.some((s) => s.overrides.length > 0)), ...(rows.some(usesBroker) ? ([['use', 'USE']] as Array<[string, string]>) : [])],
        ),
      );
    });

  secrets
    .command('get')
    .description("a secret's facts, and what each environment reads (never a value)")
    .argument('<name>')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
      emit(flags.json, await api().request<SecretDetail>('GET', `/api/v1/secrets/${enc(name)}`), printSecret);
    });

  addValueOptions(addBrokerOptions(
    secrets
      .command('create')
      .description('create a secret')
      .argument('<name>', 'letters, digits, "_", "-", "." (e.g. stripe_api_key)')
      .option('--description <text>', 'what it is for')
      .option('--agent <agent>', 'grant this agent access; repeat for each', collect)
      .option('--json', 'JSON output'),
  )).action(async (name: string, flags: ValueFlags & BrokerFlags & { description?: string; agent?: string[]; json?: boolean }) => {
    const value = valueFrom(flags);
    if (value === undefined) throw new UsageError('give a value: --value, --kv KEY=VALUE, --stdin, --stdin-json or --file');
    const created = await api().request<SecretSummary>('POST', '/api/v1/secrets', { name, description: flags.description, value, agents: flags.agent, ...brokerFields(flags) });
    emit(flags.json, created, (s) => process.stdout.write(`Created secret "${s.name}" (version ${s.version}, ${s.agentsWithAccess} agent(s) with access).\n`));
  });

  addValueOptions(addBrokerOptions(
    secrets
      .command('set')
      .description('set a new value (a new version, current at once), the description, allowed hosts, delivery or reveal; --kv changes only the keys given; with --env, that environment\'s own value (its override)')
      .argument('<name>')
      .option('--replace', 'with --kv: replace the whole value with exactly these keys (without it, the other keys keep their values)')
      .option('--remove-key <key>', 'remove this key of a key/value secret; repeat for each', collect)
      .option('--description <text>', 'a new description')
      .addOption(environmentOption('set the value of this environment only (its override); without it, the default'))
      .option('--json', 'JSON output'),
  )).action(async (name: string, flags: ValueFlags & BrokerFlags & { replace?: boolean; removeKey?: string[]; description?: string; env?: string; json?: boolean }) => {
    const change = valueChangeFrom(flags);
    const updated = await api()
      .request<SecretSummary>('PATCH', `/api/v1/secrets/${enc(name)}`, { ...change, description: flags.description, environment: flags.env, ...brokerFields(flags) })
      .catch((error: unknown) => {
        // The API's words are for the API ("set value"); on the command line the way out is a flag.
        if (error instanceof ApiError && error.field === 'valueKeys' && change.valueKeys !== undefined && /single value/.test(error.message)) {
          throw new UsageError(`"${name}" holds a single value: set it with --value, --stdin or --file, or make it key/value with --replace --kv KEY=VALUE`);
        }
        throw error;
      });
    emit(flags.json, updated, (s) => {
      const override = s.overrides.find((o) => o.environment === flags.env);
      if (override) process.stdout.write(`Secret "${s.name}" in ${override.environment} is now at version ${override.version}.\n`);
      else process.stdout.write(`Secret "${s.name}" is now at version ${s.version}${s.kind === 'kv' ? ` (keys: ${s.keys.join(', ')})` : ''}.\n`);
    });
  });
  environmentCommands(secrets, api);

  secrets
    .command('reveal')
    .description('print the value (audited)')
    .argument('<name>')
    .option('--version <n>', 'an older version', (text) => Number(text))
    .addOption(environmentOption('what this environment reads now'))
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { version?: number; env?: string; json?: boolean }) => {
      const secret = await api().request<{ value: unknown; version: number }>('POST', `/api/v1/secrets/${enc(name)}/reveal`, { version: flags.version, environment: flags.env });
      emit(flags.json, secret, (s) => process.stdout.write(typeof s.value === 'string' ? `${s.value}\n` : `${JSON.stringify(s.value, null, 2)}\n`));
    });

  secrets
    .command('versions')
    .description('versions, newest first')
    .argument('<name>')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
      const { versions } = await api().request<{ versions: Array<Record<string, unknown>> }>('GET', `/api/v1/secrets/${enc(name)}/versions`);
      emit(flags.json, versions, (rows) =>
        printTable(
          rows.map((v) => ({ ...v, mark: v.current ? '*' : '', from: v.restoredFrom ?? '', env: v.environment ?? 'default' })),
          [
            ['mark', ''],
            ['version', 'VERSION'],
            ['env', 'ENVIRONMENT'],
            ['kind', 'KIND'],
            ['createdAt', 'CREATED'],
            ['createdBy', 'BY'],
            ['from', 'RESTORED FROM'],
          ],
        ),
      );
    });

  secrets
    .command('restore')
    .description('make a new version with the value of an old one')
    .argument('<name>')
    .argument('<version>')
    .option('--json', 'JSON output')
    .action(async (name: string, version: string, flags: { json?: boolean }) => {
      const restored = await api().request<SecretSummary>('POST', `/api/v1/secrets/${enc(name)}/versions/${enc(version)}/restore`);
      emit(flags.json, restored, (s) => process.stdout.write(`Restored version ${version} of "${s.name}" as version ${s.version}.\n`));
    });

  secrets
    .command('delete')
    .description('delete a secret: every read fails with SecretNotFound from now on')
    .argument('<name>')
    .requiredOption('--confirm <name>', 'type the name again to confirm')
    .action(async (name: string, flags: { confirm: string }) => {
      if (flags.confirm !== name) throw new UsageError(`--confirm must repeat the name "${name}"`);
      await api().request('DELETE', `/api/v1/secrets/${enc(name)}`);
      process.stdout.write(`Deleted secret "${name}".\n`);
    });

  const access = program.command('access').description("a secret's access list: which agents may read it");
  access
    .command('list')
    .description('every agent of the account, with whether it may read the secret')
    .argument('<secret>')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
      emit(flags.json, await api().request<AccessList>('GET', `/api/v1/secrets/${enc(name)}/access`), printAccess);
    });
  const changeAccess = (verb: 'set' | 'grant' | 'revoke', description: string) =>
    access
      .command(verb)
      .description(description)
      .argument('<secret>')
      .argument(verb === 'set' ? '[agents...]' : '<agents...>', 'agent names or ids')
      .option('--json', 'JSON output')
      .action(async (name: string, agents: string[], flags: { json?: boolean }) => {
        let wanted = agents;
        if (verb !== 'set') {
          const current = await api().request<AccessList>('GET', `/api/v1/secrets/${enc(name)}/access`);
          const granted = current.agents.filter((a) => a.granted);
          const matches = (ref: string, a: { agentId: string; agentName: string }) => ref === a.agentId || ref.toLowerCase() === a.agentName.toLowerCase();
          const named = (a: { agentId: string; agentName: string }) => agents.some((ref) => matches(ref, a));
          // The list holds every agent of the account: one it does not hold is a typo, not a no-op.
          const unknown = verb === 'revoke' ? agents.find((ref) => !current.agents.some((a) => matches(ref, a))) : undefined;
          if (unknown !== undefined) {
            throw new UsageError(`no agent "${unknown}" in this account.${didYouMean(closestName(unknown, current.agents.map((a) => a.agentName)))}`);
          }
          wanted = verb === 'grant' ? [...granted.map((a) => a.agentId), ...agents] : granted.filter((a) => !named(a)).map((a) => a.agentId);
        }
        const result = await api().request<AccessList>('PUT', `/api/v1/secrets/${enc(name)}/access`, { agents: wanted });
        emit(flags.json, result, printAccess);
      });
  changeAccess('set', 'replace the access list with exactly these agents (none: nobody)');
  changeAccess('grant', 'add agents to the access list');
  changeAccess('revoke', 'remove agents from the access list');

  return secrets;
}
