import { MissingAccess, SecretNotFound, type AgentFunction } from '../src/sdk/index.js';

/**
 * An OAuth 2.0 client-credentials exchange (RFC 6749 §4.4) with a key/value secret, then one call to
 * the partner's API with the access token.
 *
 * Secret: `partner_oauth` (key/value: client_id, client_secret), granted to the agent.
 *
 *   agent-secrets run examples/oauth_client_credentials.ts --args '{"customer_id":"c-42"}'
 */
interface Args {
  customer_id: string;
  /** Only for trying this out against examples/mock-apis.mjs. */
  api_base?: string;
}

const loyaltyPoints: AgentFunction<Args> = async (conv, args) => {
  let credentials: { client_id: string; client_secret: string };
  try {
    credentials = await conv.utils.get_secret<{ client_id: string; client_secret: string }>('partner_oauth');
  } catch (error) {
    // A missing grant is a set-up problem, not the caller's: tell the conversation something useful.
    if (error instanceof MissingAccess || error instanceof SecretNotFound) {
      conv.log.error('partner credentials unavailable', { reason: error.name });
      return { ok: false, say: 'I cannot look up loyalty points right now.' };
    }
    throw error;
  }
  const base = args.api_base ?? (conv.env === 'live' ? 'https://partner.example.com' : 'https://sandbox.partner.example.com');

  // client_secret_basic: base64("client_id:client_secret"). Masked in logs too, at any offset.
  const basic = Buffer.from(`${encodeURIComponent(credentials.client_id)}:${encodeURIComponent(credentials.client_secret)}`).toString('base64');
  const tokenResponse = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'loyalty:read' }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!tokenResponse.ok) throw new Error(`token endpoint answered ${tokenResponse.status}`);
  // The access token is not a vault value, so nothing masks it: keep it out of logs and results.
  const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };

  const points = await fetch(`${base}/v1/customers/${encodeURIComponent(args.customer_id)}/points`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (!points.ok) throw new Error(`points API answered ${points.status}`);
  const { balance } = (await points.json()) as { balance: number };
  conv.log.info('loyalty balance read', { customer: args.customer_id, client: credentials.client_id });
  return { ok: true, balance, say: `You have ${balance} points.` };
};

export default loyaltyPoints;
