import { Option, type Command } from 'commander';
import { ENVIRONMENTS, PROMOTE_TARGETS } from '../../domain/environments.js';
import { enc, type ApiClient } from '../api.js';
import { emit, printTable } from '../output.js';

/** `--env ENV`, one of the environments (SPEC S21), refused by the parser otherwise. */
export const environmentOption = (description: string, flags = '--env <environment>'): Option => new Option(flags, description).choices(ENVIRONMENTS);

interface EnvironmentValue {
  environment: string;
  version: number;
  source: 'default' | 'override';
}

/** What `secrets get` prints below the facts: what a key of each environment reads now. */
export function printEnvironments(environments: readonly EnvironmentValue[]): void {
  printTable(
    environments.map((e) => ({ ...e, reads: e.source === 'override' ? 'its own value' : 'the default' })),
    [
      ['environment', 'ENVIRONMENT'],
      ['version', 'VERSION'],
      ['reads', 'READS'],
    ],
  );
}

interface Promotion {
  promotion: { from: string; to: string; source: 'default' | 'override'; fromVersion: number; version: number };
  secret: { name: string };
}

/**
 * The steps of a staged rotation beyond `secrets set --env` (SPEC S22, S23): promote what one
 * environment reads to another (or to the default), and remove an environment's override.
 */
export function environmentCommands(secrets: Command, api: () => ApiClient): void {
  secrets
    .command('promote')
    .description('staged rotation: make the value FROM reads now the current value of TO (an environment, or "default"), as one new version')
    .argument('<name>')
    .addOption(new Option('--from <environment>', 'the environment whose value is promoted (its override, or the default it reads)').choices(ENVIRONMENTS).makeOptionMandatory())
    .addOption(new Option('--to <target>', 'an environment, or "default" for every environment without an override').choices(PROMOTE_TARGETS).makeOptionMandatory())
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { from: string; to: string; json?: boolean }) => {
      const done = await api().request<Promotion>('POST', `/api/v1/secrets/${enc(name)}/promote`, { from: flags.from, to: flags.to });
      emit(flags.json, done, ({ promotion: p, secret }) => {
        const what = p.source === 'override' ? `${p.from}'s value (version ${p.fromVersion})` : `the default value ${p.from} reads (version ${p.fromVersion}; ${p.from} has no override)`;
        const where = p.to === 'default' ? 'the default' : `${p.to}'s override`;
        process.stdout.write(`Promoted ${what} of "${secret.name}" to ${where}: version ${p.version}.\n`);
      });
    });

  secrets
    .command('unset-env')
    .description("remove an environment's override: its reads use the default from the next call (the versions stay, restorable)")
    .argument('<name>')
    .argument('<environment>', ENVIRONMENTS.join(', '))
    .option('--json', 'JSON output')
    .action(async (name: string, environment: string, flags: { json?: boolean }) => {
      const secret = await api().request<{ name: string; version: number }>('DELETE', `/api/v1/secrets/${enc(name)}/environments/${enc(environment)}`);
      emit(flags.json, secret, (s) => process.stdout.write(`Removed the ${environment} override of "${s.name}": ${environment} reads the default (version ${s.version}) from now on.\n`));
    });
}
