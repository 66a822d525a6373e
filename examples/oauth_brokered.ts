import type { AgentFunction } from '../src/sdk/index.js';

/**
 * The OAuth 2.0 client-credentials exchange (RFC 6749 §4.4) without holding the client secret: the
 * token request goes through the vault with placeholders for both keys of a key/value secret
 * (client_secret_post), and the access token that comes back is used with a plain fetch.
 *
 * Secret: `partner_oauth` (key/value: client_id, client_secret; allowed hosts: the partner's token
 * endpoint host), granted to the agent. It may be broker-only.
 *
 *   agent-secrets run examples/oauth_brokered.ts --args '{"customer_id":"c-42"}'
 */
interface Args {
  customer_id: string;
  /** Only for trying this out against examples/mock-apis.mjs. */
  api_base?: string;
}

const loyaltyPoints: AgentFunction<Args> = async (conv, args) => {
  const base = args.api_base ?? (conv.env === 'live' ? 'https://partner.example.com' : 'https://sandbox.partner.example.com');
  // Placeholders in a form body are form-encoded by the vault, so any character of the secret is safe.
  const tokenResponse = await conv.http.fetch(`${base}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'loyalty:read',
      client_id: '{{secret:partner_oauth.client_id}}',
      client_secret: '{{secret:partner_oauth.client_secret}}',
    }),
    timeoutMs: 5_000,
  });
  if (tokenResponse.status !== 200) throw new Error(`token endpoint answered ${tokenResponse.status}`);
  // The access token is not a vault value: short-lived, for this call only. Keep it out of logs and results.
  const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };

  const points = await fetch(`${base}/v1/customers/${encodeURIComponent(args.customer_id)}/points`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (!points.ok) throw new Error(`points API answered ${points.status}`);
  const { balance } = (await points.json()) as { balance: number };
  conv.log.info('loyalty balance read', { customer: args.customer_id });
  return { ok: true, balance, say: `You have ${balance} points.` };
};

export default loyaltyPoints;
