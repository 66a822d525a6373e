import { runtimeClient, type ReadableSecrets } from '../../sdk/runtimeClient.js';
import { secretSnippets, type SecretSnippets } from '../../sdk/snippets.js';

/** `agent-secrets secrets available`: what this agent can read (SPEC S11), with code to paste. */
export type SnippetLanguage = keyof SecretSnippets;
export const SNIPPET_LANGUAGES: readonly SnippetLanguage[] = ['typescript', 'javascript', 'python'];

export async function readableSecrets(agentKey: string, url: string) {
  const list: ReadableSecrets = await runtimeClient({ agentKey, url }).listReadableSecrets();
  return { ...list, secrets: list.secrets.map((secret) => ({ ...secret, snippets: secretSnippets(secret) })) };
}

export function printReadable(list: Awaited<ReturnType<typeof readableSecrets>>, language: SnippetLanguage): void {
  const count = list.secrets.length;
  const lines = [`Agent "${list.agent}" (account "${list.account}") can read ${count} secret${count === 1 ? '' : 's'}${count === 0 ? '.' : ':'}`];
  if (count === 0) lines.push('An admin can grant access on a secret\'s page, or: agent-secrets access grant SECRET AGENT');
  for (const secret of list.secrets) {
    const kind = secret.kind === 'kv' ? `key/value (${secret.keys.join(', ')})` : 'single value';
    // How to use it (S25, S27), said only where it differs from a plain get_secret.
    const use = secret.delivery === 'broker-only' ? `, broker-only (conv.http.fetch to ${secret.allowedHosts.join(', ') || 'no host yet'})` : secret.allowedHosts.length > 0 ? `, brokered to ${secret.allowedHosts.join(', ')}` : '';
    lines.push('', `${secret.name}  ${kind}${use}${secret.description ? `  — ${secret.description}` : ''}`, `  ${secret.snippets[language]}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
