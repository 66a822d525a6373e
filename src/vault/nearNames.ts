import { SUGGESTION_CANDIDATES, SUGGESTION_DISTANCE, closestName } from '../domain/suggest.js';
import type { Db, Tx } from '../store/database.js';
import { accountNameCandidates } from '../store/nameSuggestions.js';
import { looksLikeId } from './ids.js';

/**
 * The name of the account's secret or agent an admin most likely meant by a name that matched none
 * (`strpe_api_key`, `bookin`), as the run time does for agents (SPEC S10). An admin may see every
 * name of the account, so all of them are candidates, bounded as at run time. An id (`agt_…`) that
 * matched nothing is no typo of a name.
 */
export async function nearestName(db: Db | Tx, table: 'secrets' | 'agents', accountId: string, wanted: string): Promise<string | undefined> {
  if (table === 'agents' && looksLikeId('agt', wanted)) return undefined;
  const candidates = await accountNameCandidates(db, table, accountId, wanted, SUGGESTION_DISTANCE, SUGGESTION_CANDIDATES);
  return closestName(wanted, candidates);
}
