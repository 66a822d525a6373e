import { sql, type CompiledQuery } from 'kysely';
import { chainRows, staleStampBefore, type ChainHead, type HeadSigner } from './audit.js';
import type { Store } from './database.js';
import { precompile } from './precompiled.js';
import { latestPerSecret, readEventTransaction, type LastRead, type ReadEventBatch, type WriteBatch } from './readEvents.js';

/** What this writer knows of one account's chain (see postgresReadEventWriter). */
interface ChainState {
  head: ChainHead | undefined;
  quiet: boolean;
}

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
export function postgresReadEventWriter(store: Pick<Store, 'db' | 'writeTransaction'>): WriteBatch {
  const { db } = store;
  const locked = readEventTransaction(store);

  // The rows and stamps travel as JSON, one parameter each: the column list is written once, below.
  const appendIfHead = precompile(
    (accountId: string, expectedSeq: number, expectedHash: string, nextSeq: number, nextHash: string, events: string, grantStamps: string, secretStamps: string) => ({
      compile: (): CompiledQuery<{ written: number }> =>
        sql<{ written: number }>`
          with head as (
            update audit_heads set seq = ${nextSeq}, hash = ${nextHash}
            where account_id = ${accountId} and seq = ${expectedSeq} and hash = ${expectedHash}
            returning account_id
          ), events as (
            insert into audit_events (account_id, seq, at, actor_type, actor_id, actor_name, action, secret_id, secret_name, version, agent_id, agent_name, outcome, detail, prev_hash, hash, signature)
            select head.account_id, e.seq, e.at, e.actor_type, e.actor_id, e.actor_name, e.action, e.secret_id, e.secret_name, e.version, e.agent_id, e.agent_name, e.outcome, e.detail, e.prev_hash, e.hash, e.signature
            from head, jsonb_to_recordset(${events}::jsonb) as e(
              seq bigint, at text, actor_type text, actor_id text, actor_name text, action text, secret_id text, secret_name text,
              version integer, agent_id text, agent_name text, outcome text, detail text, prev_hash text, hash text, signature text
            )
          ), grant_stamps as (
            update grants g set last_read_at = s.at
            from head, jsonb_to_recordset(${grantStamps}::jsonb) as s("secretId" text, "agentId" text, at text, stale text)
            where g.secret_id = s."secretId" and g.agent_id = s."agentId" and (g.last_read_at is null or g.last_read_at <= s.stale)
          ), environment_stamps as (
            insert into read_stamps (secret_id, agent_id, environment, version, last_read_at)
            select s."secretId", s."agentId", s.environment, s.version, s.at
            from head, jsonb_to_recordset(${grantStamps}::jsonb) as s("secretId" text, "agentId" text, environment text, version integer, at text, stale text)
            where exists (select 1 from grants g where g.secret_id = s."secretId" and g.agent_id = s."agentId")
              and not exists (
                select 1 from read_stamps r
                where r.secret_id = s."secretId" and r.agent_id = s."agentId" and r.environment = s.environment and r.version = s.version and r.last_read_at > s.stale
              )
            on conflict (secret_id, agent_id, environment) do update set version = excluded.version, last_read_at = excluded.last_read_at
          ), secret_stamps as (
            update secrets x set last_read_at = s.at
            from head, jsonb_to_recordset(${secretStamps}::jsonb) as s("secretId" text, at text, stale text)
            where x.id = s."secretId" and (x.last_read_at is null or x.last_read_at <= s.stale)
          )
          select count(*)::int as written from head`.compile(db),
    }),
    8,
  );

  /**
   * Per account: the head this writer last wrote, and whether the chain is quiet, i.e. its last locked
   * write found the chain where this writer had left it (nobody else appending). Only then is the one
   * statement tried: while changes or other instances keep appending it would mostly miss, so those
   * times go the locking way without a wasted try.
   */
  const chains = new Map<string, ChainState>();

  const writeLocked = async (batch: ReadEventBatch, signer: HeadSigner, accountId: string, chain: ChainState): Promise<void> => {
    const lastWritten = chain.head;
    chain.head = undefined;
    const { found, written } = await locked(batch, signer);
    const foundHead = found.get(accountId);
    chain.quiet = lastWritten !== undefined && foundHead !== undefined && foundHead.seq === lastWritten.seq && foundHead.hash === lastWritten.hash;
    chain.head = written.get(accountId);
  };

  return async (batch, signer) => {
    const accountId = batch.events[0]?.account_id;
    if (accountId === undefined || batch.events.some((event) => event.account_id !== accountId)) {
      await locked(batch, signer);
      return;
    }
    let chain = chains.get(accountId);
    if (chain === undefined) {
      chain = { head: undefined, quiet: false };
      chains.set(accountId, chain);
    }
    if (!chain.quiet || chain.head === undefined) return writeLocked(batch, signer, accountId, chain);
    const head = chain.head;
    // Whatever happens next, this writer no longer knows the head for sure until it has written it.
    chain.head = undefined;
    // Signed over the head this writer last wrote: the statement writes only if it is still the head.
    const { rows, head: next } = chainRows(head, batch.events, signer);
    const withStale = (stamps: LastRead[]) => JSON.stringify(stamps.map((stamp) => ({ ...stamp, stale: staleStampBefore(stamp.at) })));
    const [result] = (
      await db.executeQuery(
        appendIfHead(accountId, head.seq, head.hash, next.seq, next.hash, JSON.stringify(rows), withStale(batch.lastRead), withStale(latestPerSecret(batch.lastRead))),
      )
    ).rows;
    if (result?.written === 1) {
      chain.head = next;
      return;
    }
    chain.quiet = false;
    await writeLocked(batch, signer, accountId, chain);
  };
}
