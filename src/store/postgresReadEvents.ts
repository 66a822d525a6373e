import { sql, type CompiledQuery } from 'kysely';
import { chainRows, staleStampBefore, type ChainHead } from './audit.js';
import type { Store } from './database.js';
import { precompile } from './precompiled.js';
import { latestPerSecret, readEventTransaction, type ReadEventBatch } from './readEvents.js';

/**
 * PostgreSQL: one account's batch of read events in one statement, so one round trip. The general
 * way (readEventTransaction) takes the chain lock, inserts, moves the head, stamps and commits: seven
 * round trips, each also a turn of a busy event loop, all while the account's chain is locked.
 *
 * Here the rows are chained after the head this writer last wrote, and the statement moves the head
 * only if it is still that one; the events and stamps join on that update, so they are written with
 * it or not at all, and the head's row lock comes first. If anyone else appended meanwhile (a change,
 * another instance), nothing is written and the batch goes the general way, which locks first; the
 * one statement is tried again once a locked write finds the chain where this writer left it.
 */
export function postgresReadEventWriter(store: Pick<Store, 'db' | 'writeTransaction'>): (batch: ReadEventBatch) => Promise<void> {
  const { db } = store;
  const locked = readEventTransaction(store);

  const appendIfHead = precompile(
    (
      accountId: string,
      expectedSeq: number,
      expectedHash: string,
      nextSeq: number,
      nextHash: string,
      seqs: number[],
      ats: string[],
      actorTypes: string[],
      actorIds: Array<string | null>,
      actorNames: Array<string | null>,
      actions: string[],
      secretIds: Array<string | null>,
      secretNames: Array<string | null>,
      versions: Array<number | null>,
      agentIds: Array<string | null>,
      agentNames: Array<string | null>,
      outcomes: string[],
      details: Array<string | null>,
      prevHashes: string[],
      hashes: string[],
      grantSecrets: string[],
      grantAgents: string[],
      grantAts: string[],
      grantStale: string[],
      stampSecrets: string[],
      stampAts: string[],
      stampStale: string[],
    ) => ({
      compile: (): CompiledQuery<{ written: number }> =>
        sql<{ written: number }>`
          with head as (
            update audit_heads set seq = ${nextSeq}, hash = ${nextHash}
            where account_id = ${accountId} and seq = ${expectedSeq} and hash = ${expectedHash}
            returning account_id
          ), events as (
            insert into audit_events (account_id, seq, at, actor_type, actor_id, actor_name, action, secret_id, secret_name, version, agent_id, agent_name, outcome, detail, prev_hash, hash)
            select head.account_id, e.* from head, unnest(
              ${seqs}::bigint[], ${ats}::text[], ${actorTypes}::text[], ${actorIds}::text[], ${actorNames}::text[], ${actions}::text[],
              ${secretIds}::text[], ${secretNames}::text[], ${versions}::integer[], ${agentIds}::text[], ${agentNames}::text[],
              ${outcomes}::text[], ${details}::text[], ${prevHashes}::text[], ${hashes}::text[]
            ) as e
          ), grant_stamps as (
            update grants g set last_read_at = s.at
            from head, unnest(${grantSecrets}::text[], ${grantAgents}::text[], ${grantAts}::text[], ${grantStale}::text[]) as s(secret_id, agent_id, at, stale_before)
            where g.secret_id = s.secret_id and g.agent_id = s.agent_id and (g.last_read_at is null or g.last_read_at <= s.stale_before)
          ), secret_stamps as (
            update secrets x set last_read_at = s.at
            from head, unnest(${stampSecrets}::text[], ${stampAts}::text[], ${stampStale}::text[]) as s(secret_id, at, stale_before)
            where x.id = s.secret_id and (x.last_read_at is null or x.last_read_at <= s.stale_before)
          )
          select count(*)::int as written from head`.compile(db),
    }),
    27,
  );

  /**
   * Per account: the head this writer last wrote, and whether the chain is quiet, i.e. its last locked
   * write found the chain where this writer had left it (nobody else appending). Only then is the one
   * statement tried: while changes or other instances keep appending it would mostly miss, so those
   * times go the locking way without a wasted try.
   */
  const chains = new Map<string, { head: ChainHead | undefined; quiet: boolean }>();

  const writeLocked = async (batch: ReadEventBatch, accountId: string, chain: { head: ChainHead | undefined; quiet: boolean }): Promise<void> => {
    const lastWritten = chain.head;
    chain.head = undefined;
    const { found, written } = await locked(batch);
    const foundHead = found.get(accountId);
    chain.quiet = lastWritten !== undefined && foundHead !== undefined && foundHead.seq === lastWritten.seq && foundHead.hash === lastWritten.hash;
    chain.head = written.get(accountId);
  };

  return async (batch) => {
    const accountId = batch.events[0]?.account_id;
    if (accountId === undefined || batch.events.some((event) => event.account_id !== accountId)) {
      await locked(batch);
      return;
    }
    let chain = chains.get(accountId);
    if (chain === undefined) {
      chain = { head: undefined, quiet: false };
      chains.set(accountId, chain);
    }
    if (!chain.quiet || chain.head === undefined) return writeLocked(batch, accountId, chain);
    const head = chain.head;
    // Whatever happens next, this writer no longer knows the head for sure until it has written it.
    chain.head = undefined;
    const { rows, head: next } = chainRows(head, batch.events);
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
    const secrets = latestPerSecret(batch.lastRead);
    const [result] = (
      await db.executeQuery(
        appendIfHead(
          accountId,
          head.seq,
          head.hash,
          next.seq,
          next.hash,
          column('seq'),
          column('at'),
          column('actor_type'),
          column('actor_id'),
          column('actor_name'),
          column('action'),
          column('secret_id'),
          column('secret_name'),
          column('version'),
          column('agent_id'),
          column('agent_name'),
          column('outcome'),
          column('detail'),
          column('prev_hash'),
          column('hash'),
          batch.lastRead.map((stamp) => stamp.secretId),
          batch.lastRead.map((stamp) => stamp.agentId),
          batch.lastRead.map((stamp) => stamp.at),
          batch.lastRead.map((stamp) => staleStampBefore(stamp.at)),
          secrets.map((stamp) => stamp.secretId),
          secrets.map((stamp) => stamp.at),
          secrets.map((stamp) => staleStampBefore(stamp.at)),
        ),
      )
    ).rows;
    if (result?.written === 1) {
      chain.head = next;
      return;
    }
    chain.quiet = false;
    await writeLocked(batch, accountId, chain);
  };
}
