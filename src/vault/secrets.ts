import { VaultError, invalidInput, notFound, revealNotAllowed, secretUnreadable } from '../domain/errors.js';
import { DEFAULT_KEY_ENVIRONMENT, ENVIRONMENTS, isEnvironment, resolveVersion, type Environment, type ValueSource } from '../domain/environments.js';
import { applyValueKeys, kindOf, keyNamesOf, type Delivery, type Reveal, type SecretKind, type SecretValue, type ValueKeyChanges } from '../domain/secrets.js';
import type { Store, Tx } from '../store/database.js';
import { accessListRows, countSecrets, findSecretByName, insertGrants, listSecretRows, overridesOf, readStampsOf } from '../store/secrets.js';
import type { SecretOverridesTable, SecretsTable } from '../store/schema.js';
import { writeValue } from './secretValues.js';
import type { AuditTrail, RecordAudit } from './audit.js';
import type { Actor } from './callers.js';
import { actorOf, requireSecretAdmin, type UserCaller } from './callers.js';
import { newId, nowIso } from './ids.js';
import { agentMissing, findAgent, resolveAgents } from './agents.js';
import { nearestName } from './nearNames.js';
import { didYouMean } from '../domain/suggest.js';
import { listReadableSecrets, overrideShapesOf } from '../store/runtime.js';
import { readableSecretOf } from './runtime.js';
import { UNREADABLE_DETAIL, type SealingService } from './sealing.js';

export interface SecretSummary {
  id: string;
  name: string;
  description: string;
  kind: SecretKind;
  keys: string[];
  version: number;
  agentsWithAccess: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  lastReadAt: string | null;
  /** SPEC S25, S27: where brokered requests may send it, how functions get it, whether people may see it. */
  allowedHosts: string[];
  delivery: Delivery;
  reveal: Reveal;
  /** The environments with a value of their own, and the version each reads (SPEC S22). */
  overrides: OverrideInfo[];
}

/** What create and PATCH may set beside the value (SPEC S25, S27). */
export interface BrokerSettings {
  allowedHosts?: string[] | undefined;
  delivery?: Delivery | undefined;
  reveal?: Reveal | undefined;
}

export interface OverrideInfo {
  environment: Environment;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** What a key of one environment reads of a secret now: its own value, or the default. */
export interface EnvironmentValue {
  environment: Environment;
  version: number;
  source: ValueSource;
}

/** The last read of a secret by one agent in one environment, and the version it got (SPEC S24). */
export interface EnvironmentRead {
  environment: Environment;
  version: number;
  at: string;
}

/** A PATCH of a secret: each field optional; `value` and `valueKeys` exclude each other. */
export interface SecretUpdate {
  description?: string | undefined;
  value?: SecretValue | undefined;
  valueKeys?: ValueKeyChanges | undefined;
  /** Whose value `value` or `valueKeys` sets: this environment's override; without it, the default (SPEC S22). */
  environment?: Environment | undefined;
}

export interface AccessEntry {
  agentId: string;
  agentName: string;
  granted: boolean;
  grantedAt: string | null;
  grantedBy: string | null;
  lastReadAt: string | null;
  /** Per environment the agent read the secret in: when last, and which version (SPEC S24). */
  lastReads: EnvironmentRead[];
}

export interface VersionInfo {
  version: number;
  kind: SecretKind;
  keys: string[];
  createdAt: string;
  createdBy: string;
  restoredFrom: number | null;
  /** The environment whose override this version was set as; null for the default (SPEC S22). */
  environment: Environment | null;
  /** Whether it is what its environment (or the default) reads now. */
  current: boolean;
}

const overrideInfo = (row: SecretOverridesTable): OverrideInfo => ({
  environment: row.environment as Environment,
  version: row.version,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

/** What each environment reads of a secret with this default version and these overrides. */
export function environmentValues(defaultVersion: number, overrides: readonly OverrideInfo[]): EnvironmentValue[] {
  const byEnvironment = Object.fromEntries(overrides.map((o) => [o.environment, o.version])) as Partial<Record<Environment, number>>;
  return ENVIRONMENTS.map((environment) => ({ environment, ...resolveVersion(environment, defaultVersion, byEnvironment) }));
}

export const summarize = (row: SecretsTable, agentsWithAccess: number, overrides: readonly SecretOverridesTable[]): SecretSummary => ({
  id: row.id,
  name: row.name,
  description: row.description,
  kind: row.kind as SecretKind,
  keys: JSON.parse(row.key_names) as string[],
  version: row.current_version,
  agentsWithAccess,
  createdAt: row.created_at,
  createdBy: row.created_by,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
  lastReadAt: row.last_read_at,
  allowedHosts: JSON.parse(row.allowed_hosts) as string[],
  delivery: row.delivery as Delivery,
  reveal: row.reveal as Reveal,
  overrides: overrides.map(overrideInfo),
});

export const secretMissing = (name: string, suggestion: string | undefined): VaultError => notFound(`No secret named "${name}" in this account.${didYouMean(suggestion)}`, 'name');

/** A secret by name (ignoring case), or a 404 with the account's nearest name as "did you mean". */
export async function requireSecretNamed(tx: Tx | Store['db'], accountId: string, name: string): Promise<SecretsTable> {
  const secret = await findSecretByName(tx, accountId, name);
  if (!secret) throw secretMissing(name, await nearestName(tx, 'secrets', accountId, name));
  return secret;
}

export function secretsService(deps: { store: Store; audit: AuditTrail; sealing: SealingService }) {
  const { store, audit, sealing } = deps;

  const requireSecret = requireSecretNamed;

  async function countGrants(tx: Tx | Store['db'], secretId: string): Promise<number> {
    const row = await tx.selectFrom('grants').select((eb) => eb.fn.countAll<number>().as('n')).where('secret_id', '=', secretId).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function summaryOf(db: Tx | Store['db'], row: SecretsTable): Promise<SecretSummary> {
    const overrides = await overridesOf(db, [row.id]);
    return summarize(row, await countGrants(db, row.id), overrides.get(row.id) ?? []);
  }

  /** SPEC S1: create a secret with its first version and, optionally, its access list. */
  async function createSecret(
    caller: UserCaller,
    input: { name: string; description?: string | undefined; value: SecretValue; agents?: string[] | undefined } & BrokerSettings,
  ): Promise<SecretSummary> {
    requireSecretAdmin(caller);
    const actor = actorOf(caller);
    return audit.change(caller.accountId, async (tx, record) => {
      if (await findSecretByName(tx, caller.accountId, input.name)) {
        throw new VaultError('name_taken', `A secret named "${input.name}" already exists (names are unique ignoring case).`, 'name');
      }
      const agents = await resolveAgents(tx, caller.accountId, input.agents ?? [], 'agents');
      const at = nowIso();
      const id = newId('sec');
      const row: SecretsTable = {
        id,
        account_id: caller.accountId,
        name: input.name,
        name_key: input.name.toLowerCase(),
        description: input.description ?? '',
        kind: kindOf(input.value),
        key_names: JSON.stringify(keyNamesOf(input.value)),
        current_version: 1,
        created_at: at,
        created_by: actor.name,
        updated_at: at,
        updated_by: actor.name,
        last_read_at: null,
        allowed_hosts: JSON.stringify(input.allowedHosts ?? []),
        delivery: input.delivery ?? 'value',
        reveal: input.reveal ?? 'allowed',
      };
      await tx.insertInto('secrets').values(row).execute();
      await writeValue(sealing, tx, { accountId: caller.accountId, secretId: id, target: null, value: input.value, by: actor.name, at });
      await insertGrants(tx, agents.map((agent) => ({ secret_id: id, agent_id: agent.id, created_at: at, created_by: actor.name, last_read_at: null })));
      const secret = { id, name: input.name };
      record({
        actor,
        action: 'secret.create',
        outcome: 'success',
        secret,
        version: 1,
        detail: { kind: kindOf(input.value), keys: keyNamesOf(input.value), allowedHosts: input.allowedHosts ?? [], delivery: row.delivery, reveal: row.reveal },
      });
      if (agents.length > 0) {
        record({ actor, action: 'secret.access_set', outcome: 'success', secret, detail: { agents: agents.map((a) => a.name) } });
      }
      return summarize(row, agents.length, []);
    });
  }

  /** SPEC S2: names and facts, never values; search by name, keyset paging by name. */
  async function listSecrets(caller: UserCaller, q: { search?: string | undefined; after?: string | undefined; limit: number }) {
    requireSecretAdmin(caller);
    const rows = await listSecretRows(store.db, { accountId: caller.accountId, ...q, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    const total = await countSecrets(store.db, caller.accountId, q.search);
    const last = page[page.length - 1];
    const overrides = await overridesOf(store.db, page.map((row) => row.id));
    return {
      secrets: page.map((row) => summarize(row, Number(row.agents_with_access ?? 0), overrides.get(row.id) ?? [])),
      total,
      next: rows.length > q.limit && last ? last.name_key : null,
    };
  }

  /**
   * A secret's facts and what each environment reads of it, as `db` sees them: given a change's
   * transaction, exactly the state that change commits, whatever commits after it.
   */
  async function detailOf(db: Tx | Store['db'], row: SecretsTable): Promise<SecretSummary & { environments: EnvironmentValue[] }> {
    const summary = await summaryOf(db, row);
    return { ...summary, environments: environmentValues(row.current_version, summary.overrides) };
  }

  /** A secret's facts, and what each environment reads of it now (SPEC S22). */
  async function getSecret(caller: UserCaller, name: string): Promise<SecretSummary & { environments: EnvironmentValue[] }> {
    requireSecretAdmin(caller);
    return detailOf(store.db, await requireSecret(store.db, caller.accountId, name));
  }

  /**
   * The value a PATCH sets, if it sets one: the whole `value`, or the value it changes (`environment`'s
   * own value if it has one, else the default: what its keys read now) with `valueKeys` applied. Runs
   * under the account's audit chain lock (audit.change takes it first), so two admins' partial edits of
   * one secret run one after the other and the second applies its keys to the value the first
   * committed: both survive.
   */
  async function valueToSet(tx: Tx, accountId: string, secret: SecretsTable, input: SecretUpdate): Promise<{ value: SecretValue; detail: Record<string, unknown> } | { refused: VaultError } | undefined> {
    if (input.value !== undefined) return { value: input.value, detail: { kind: kindOf(input.value), keys: keyNamesOf(input.value) } };
    if (input.valueKeys === undefined) return undefined;
    const override = input.environment === undefined ? undefined : ((await overridesOf(tx, [secret.id])).get(secret.id) ?? []).find((o) => o.environment === input.environment);
    const base = override?.version ?? secret.current_version;
    const row = await tx.selectFrom('secret_versions').selectAll().where('secret_id', '=', secret.id).where('version', '=', base).executeTakeFirstOrThrow();
    if (row.kind !== 'kv') throw invalidInput('valueKeys', 'valueKeys: this secret holds a single value, not key/value pairs: set "value" instead');
    const current = await sealing.openVersionIfIntact(tx, accountId, secret.id, row);
    if (current === undefined) return { refused: secretUnreadable(secret.name, base) };
    const applied = applyValueKeys(current, input.valueKeys);
    if ('message' in applied) {
      const field = ['valueKeys', ...applied.path].join('.');
      throw invalidInput(field, `${field}: ${applied.message}`);
    }
    return { value: applied.value, detail: { kind: 'kv', keys: keyNamesOf(applied.value), changedKeys: applied.changed, removedKeys: applied.removed } };
  }

  /**
   * SPEC S4, S22: a new description and/or a new value: a new version, current at once for every agent
   * that reads it. With `environment`, the value is that environment's override (made, or moved to the
   * new version); without, the default's. The value is worked out first (valueToSet) and written once,
   * so `environment` combines with `value` and `valueKeys` alike.
   */
  async function updateSecret(caller: UserCaller, name: string, input: SecretUpdate & BrokerSettings) {
    requireSecretAdmin(caller);
    if (input.value !== undefined && input.valueKeys !== undefined) {
      throw invalidInput('valueKeys', 'valueKeys: give either "value" (replaces the whole value) or "valueKeys" (changes some keys), not both');
    }
    if (input.environment !== undefined && input.value === undefined && input.valueKeys === undefined) {
      throw invalidInput('environment', '"environment" says whose value "value" or "valueKeys" sets: give one of them with it');
    }
    if (input.description === undefined && input.value === undefined && input.valueKeys === undefined && input.allowedHosts === undefined && input.delivery === undefined && input.reveal === undefined) {
      throw invalidInput('body', 'give at least one of "description", "value", "valueKeys", "allowedHosts", "delivery", "reveal"');
    }
    const actor = actorOf(caller);
    const updated = await audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      const ref = { id: secret.id, name: secret.name };
      const at = nowIso();
      const next = await valueToSet(tx, caller.accountId, secret, input);
      const target = input.environment ?? null;
      const inEnvironment = target === null ? {} : { environment: target };
      if (next && 'refused' in next) {
        // As a reveal: the failed attempt is recorded and committed, and nothing new is made.
        record({ actor, action: 'secret.value_set', outcome: 'failed', secret: ref, version: secret.current_version, detail: { ...UNREADABLE_DETAIL, ...inEnvironment } });
        return next;
      }
      if (next) {
        const version = await writeValue(sealing, tx, { accountId: caller.accountId, secretId: secret.id, target, value: next.value, by: actor.name, at });
        record({ actor, action: 'secret.value_set', outcome: 'success', secret: ref, version, detail: { ...next.detail, ...inEnvironment } });
      }
      if (input.description !== undefined && input.description !== secret.description) {
        await tx.updateTable('secrets').set({ description: input.description, updated_at: at, updated_by: actor.name }).where('id', '=', secret.id).execute();
        record({ actor, action: 'secret.description_set', outcome: 'success', secret: ref });
      }
      await updateBrokerSettings(tx, secret, input, actor, at, record);
      return { summary: await summaryOf(tx, await requireSecret(tx, caller.accountId, name)) };
    });
    if ('refused' in updated) throw updated.refused;
    return updated.summary;
  }

  /**
   * SPEC S25, S27 on PATCH: each setting that changes is written and audited on its own, and holds
   * from the next call (the read revision's trigger watches these columns, migration 0007).
   */
  async function updateBrokerSettings(tx: Tx, secret: SecretsTable, input: BrokerSettings, actor: Actor, at: string, record: RecordAudit) {
    const ref = { id: secret.id, name: secret.name };
    const touch = { updated_at: at, updated_by: actor.name };
    if (input.allowedHosts !== undefined) {
      const before = JSON.parse(secret.allowed_hosts) as string[];
      const after = input.allowedHosts;
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        await tx.updateTable('secrets').set({ allowed_hosts: JSON.stringify(after), ...touch }).where('id', '=', secret.id).execute();
        record({
          actor,
          action: 'secret.allowed_hosts_set',
          outcome: 'success',
          secret: ref,
          detail: { allowedHosts: after, added: after.filter((host) => !before.includes(host)), removed: before.filter((host) => !after.includes(host)) },
        });
      }
    }
    if (input.delivery !== undefined && input.delivery !== secret.delivery) {
      // Read by value, a never-revealed broker-only secret could be printed by any function of a granted
      // agent: "never" would be undone by two PATCHes. Such a secret stays broker-only.
      if (secret.reveal === 'never' && secret.delivery === 'broker-only') {
        throw new VaultError(
          'conflict',
          `Secret "${secret.name}" is broker-only and never revealed, so it stays broker-only: read by value, any function could print it. ` +
            'To use a credential by value, make a new secret with it.',
          'delivery',
        );
      }
      await tx.updateTable('secrets').set({ delivery: input.delivery, ...touch }).where('id', '=', secret.id).execute();
      record({ actor, action: 'secret.delivery_set', outcome: 'success', secret: ref, detail: { from: secret.delivery, to: input.delivery } });
    }
    if (input.reveal !== undefined && input.reveal !== secret.reveal) {
      // "never" is for good: otherwise an admin could set it back and reveal what was meant never to be shown.
      if (secret.reveal === 'never') throw revealNotAllowed(secret.name);
      await tx.updateTable('secrets').set({ reveal: input.reveal, ...touch }).where('id', '=', secret.id).execute();
      record({ actor, action: 'secret.reveal_set', outcome: 'success', secret: ref, detail: { from: secret.reveal, to: input.reveal } });
    }
  }

  /** SPEC S5: from this commit on, every read fails with SecretNotFound; the audit trail stays. */
  async function deleteSecret(caller: UserCaller, name: string): Promise<void> {
    requireSecretAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      await tx.deleteFrom('grants').where('secret_id', '=', secret.id).execute();
      await tx.deleteFrom('read_stamps').where('secret_id', '=', secret.id).execute();
      await tx.deleteFrom('secret_overrides').where('secret_id', '=', secret.id).execute();
      await tx.deleteFrom('secret_versions').where('secret_id', '=', secret.id).execute();
      await tx.deleteFrom('secrets').where('id', '=', secret.id).execute();
      record({ actor, action: 'secret.delete', outcome: 'success', secret: { id: secret.id, name: secret.name }, version: secret.current_version });
    });
  }

  /**
   * SPEC S3: an admin's explicit reveal of the default's current value, a given version, or what an
   * environment reads now (its override, else the default); always audited.
   */
  async function revealSecret(
    caller: UserCaller,
    name: string,
    version?: number,
    environment?: Environment,
  ): Promise<{ name: string; kind: SecretKind; version: number; value: SecretValue; environment: Environment | null }> {
    requireSecretAdmin(caller);
    if (version !== undefined && environment !== undefined) throw invalidInput('environment', 'give "version" or "environment", not both');
    const actor = actorOf(caller);
    const revealed = await audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      const overrides = environment === undefined ? [] : ((await overridesOf(tx, [secret.id])).get(secret.id) ?? []);
      const inEnvironment = environment === undefined ? undefined : environmentValues(secret.current_version, overrides.map(overrideInfo)).find((e) => e.environment === environment);
      const wanted = version ?? inEnvironment?.version ?? secret.current_version;
      if (secret.reveal === 'never') {
        // Returned, not thrown, so that the refused attempt's event commits with the transaction.
        record({ actor, action: 'secret.reveal', outcome: 'denied', secret: { id: secret.id, name: secret.name }, version: wanted, detail: { reason: 'reveal_not_allowed' } });
        return { refused: revealNotAllowed(secret.name) };
      }
      const row = await tx.selectFrom('secret_versions').selectAll().where('secret_id', '=', secret.id).where('version', '=', wanted).executeTakeFirst();
      if (!row) throw notFound(`Secret "${secret.name}" has no version ${wanted}.`, 'version');
      const value = await sealing.openVersionIfIntact(tx, caller.accountId, secret.id, row);
      const event = { actor, action: 'secret.reveal', secret: { id: secret.id, name: secret.name }, version: wanted } as const;
      if (value === undefined) {
        // Returned, not thrown, so that the failed attempt's event commits with the transaction.
        record({ ...event, outcome: 'failed', detail: UNREADABLE_DETAIL });
        return { refused: secretUnreadable(secret.name, wanted) };
      }
      record({ ...event, outcome: 'success', ...(environment === undefined ? {} : { detail: { environment } }) });
      return { name: secret.name, kind: row.kind as SecretKind, version: wanted, value, environment: isEnvironment(row.environment) ? row.environment : null };
    });
    if ('refused' in revealed) throw revealed.refused;
    return revealed;
  }

  async function listVersions(caller: UserCaller, name: string): Promise<VersionInfo[]> {
    requireSecretAdmin(caller);
    const secret = await requireSecret(store.db, caller.accountId, name);
    const rows = await store.db
      .selectFrom('secret_versions')
      .select(['version', 'kind', 'key_names', 'created_at', 'created_by', 'restored_from', 'environment'])
      .where('secret_id', '=', secret.id)
      .orderBy('version', 'desc')
      .execute();
    const current = new Set([secret.current_version, ...((await overridesOf(store.db, [secret.id])).get(secret.id) ?? []).map((o) => o.version)]);
    return rows.map((row) => ({
      version: row.version,
      kind: row.kind as SecretKind,
      keys: JSON.parse(row.key_names) as string[],
      createdAt: row.created_at,
      createdBy: row.created_by,
      restoredFrom: row.restored_from,
      environment: isEnvironment(row.environment) ? row.environment : null,
      current: current.has(row.version),
    }));
  }

  /** SPEC S4, S22: restoring makes a new version holding the old value, in the old version's environment. */
  async function restoreVersion(caller: UserCaller, name: string, version: number): Promise<SecretSummary> {
    requireSecretAdmin(caller);
    const actor = actorOf(caller);
    const restored = await audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      const old = await tx.selectFrom('secret_versions').selectAll().where('secret_id', '=', secret.id).where('version', '=', version).executeTakeFirst();
      if (!old) throw notFound(`Secret "${secret.name}" has no version ${version}.`, 'version');
      const value = await sealing.openVersionIfIntact(tx, caller.accountId, secret.id, old);
      if (value === undefined) {
        // As a reveal: the failed attempt is recorded and committed, and nothing new is made.
        record({ actor, action: 'secret.restore', outcome: 'failed', secret: { id: secret.id, name: secret.name }, version, detail: { ...UNREADABLE_DETAIL, restoredFrom: version } });
        return { refused: secretUnreadable(secret.name, version) };
      }
      const at = nowIso();
      const target = isEnvironment(old.environment) ? old.environment : null;
      const next = await writeValue(sealing, tx, { accountId: caller.accountId, secretId: secret.id, target, value, by: actor.name, at, restoredFrom: version });
      const detail = target === null ? { restoredFrom: version } : { restoredFrom: version, environment: target };
      record({ actor, action: 'secret.restore', outcome: 'success', secret: { id: secret.id, name: secret.name }, version: next, detail });
      return { summary: await summaryOf(tx, await requireSecret(tx, caller.accountId, name)) };
    });
    if ('refused' in restored) throw restored.refused;
    return restored.summary;
  }

  /** SPEC S6: every agent of the account, checked where it has access. */
  async function getAccess(caller: UserCaller, name: string): Promise<{ secret: string; agents: AccessEntry[] }> {
    requireSecretAdmin(caller);
    const secret = await requireSecret(store.db, caller.accountId, name);
    const rows = await accessListRows(store.db, caller.accountId, secret.id);
    const reads = new Map<string, EnvironmentRead[]>();
    for (const stamp of await readStampsOf(store.db, secret.id)) {
      if (!isEnvironment(stamp.environment)) continue;
      const read = { environment: stamp.environment, version: stamp.version, at: stamp.last_read_at };
      const list = reads.get(stamp.agent_id);
      if (list) list.push(read);
      else reads.set(stamp.agent_id, [read]);
    }
    return {
      secret: secret.name,
      agents: rows.map((row) => ({
        agentId: row.id,
        agentName: row.name,
        granted: row.granted_to !== null,
        grantedAt: row.granted_at,
        grantedBy: row.granted_by,
        lastReadAt: row.last_read_at,
        lastReads: row.granted_to === null ? [] : (reads.get(row.id) ?? []),
      })),
    };
  }

  /** SPEC S6/S7: replaces the access list in one transaction; holds from the next read. */
  async function setAccess(caller: UserCaller, name: string, agentRefs: string[]) {
    requireSecretAdmin(caller);
    const actor = actorOf(caller);
    await audit.change(caller.accountId, async (tx, record) => {
      const secret = await requireSecret(tx, caller.accountId, name);
      const agents = await resolveAgents(tx, caller.accountId, agentRefs, 'agents');
      const before = await tx
        .selectFrom('grants as g')
        .innerJoin('agents as a', 'a.id', 'g.agent_id')
        .select(['g.agent_id', 'a.name'])
        .where('g.secret_id', '=', secret.id)
        .execute();
      const wanted = new Set(agents.map((agent) => agent.id));
      const had = new Set(before.map((row) => row.agent_id));
      const removedRows = before.filter((row) => !wanted.has(row.agent_id));
      const removed = removedRows.map((row) => row.agent_id);
      const added = agents.filter((agent) => !had.has(agent.id));
      if (removed.length > 0) {
        await tx.deleteFrom('grants').where('secret_id', '=', secret.id).where('agent_id', 'in', removed).execute();
        await tx.deleteFrom('read_stamps').where('secret_id', '=', secret.id).where('agent_id', 'in', removed).execute();
      }
      const at = nowIso();
      await insertGrants(tx, added.map((agent) => ({ secret_id: secret.id, agent_id: agent.id, created_at: at, created_by: actor.name, last_read_at: null })));
      if (added.length > 0 || removed.length > 0) {
        record({
          actor,
          action: 'secret.access_set',
          outcome: 'success',
          secret: { id: secret.id, name: secret.name },
          detail: { agents: agents.map((a) => a.name), granted: added.map((a) => a.name), revoked: removedRows.map((row) => row.name) },
        });
      }
    });
    return getAccess(caller, name);
  }

  /** The secrets one agent can read, for its page in the console (names, never values). */
  async function listSecretsOfAgent(caller: UserCaller, agentRef: string) {
    requireSecretAdmin(caller);
    const agent = await findAgent(store.db, caller.accountId, agentRef);
    if (!agent) throw agentMissing(agentRef, await nearestName(store.db, 'agents', caller.accountId, agentRef));
    // The page shows every environment, each with the kind and key names it reads (an override may
    // be another shape than the default); the kind and keys beside the name, which the snippet uses,
    // are what a live key reads, as keys are live unless made for another environment (SPEC S21).
    const rows = await listReadableSecrets(store.db, agent.id, DEFAULT_KEY_ENVIRONMENT);
    const overrides = await overrideShapesOf(store.db, rows.map((row) => row.id));
    return {
      agent: agent.name,
      secrets: rows.map((row) => {
        const own = overrides.get(row.id) ?? [];
        const shapeIn = (environment: Environment) => own.find((o) => o.environment === environment) ?? { kind: row.default_kind, key_names: row.default_key_names };
        return {
          ...readableSecretOf(row),
          lastReadAt: row.last_read_at,
          // What a key of this agent in each environment reads now (SPEC S22).
          environments: environmentValues(row.current_version, own.map(overrideInfo)).map((value) => {
            const shape = shapeIn(value.environment);
            return { ...value, kind: shape.kind as SecretKind, keys: JSON.parse(shape.key_names) as string[] };
          }),
        };
      }),
    };
  }

  return { listSecretsOfAgent, createSecret, listSecrets, getSecret, detailOf, updateSecret, deleteSecret, revealSecret, listVersions, restoreVersion, getAccess, setAccess };
}

export type SecretsService = ReturnType<typeof secretsService>;
