import { HostNotAllowed, UpstreamTimeout, UpstreamUnreachable, type AgentFunction } from '../src/sdk/index.js';

/**
 * Charges a card through a payments API with a broker-only key: the function never holds the key.
 * It writes `{{secret:payments_api_key}}` where the key goes; the vault fills it in, sends the request
 * to the key's allowed hosts only, and answers with the key replaced by *** wherever it shows.
 *
 * Secret: `payments_api_key` (single value, delivery "broker-only", allowed hosts: the payments API),
 * granted to the agent that runs this function.
 *
 *   agent-secrets run examples/charge_payment.ts --args '{"amount_cents":2500,"currency":"eur","order_id":"o-1001"}'
 */
interface ChargeArgs {
  amount_cents: number;
  currency: string;
  order_id: string;
  /** Only for trying this out against examples/mock-apis.mjs. */
  api_base?: string;
}

const chargePayment: AgentFunction<ChargeArgs> = async (conv, args) => {
  const base = args.api_base ?? (conv.env === 'live' ? 'https://api.payments.example.com' : 'https://sandbox.payments.example.com');
  let response: Response;
  try {
    response = await conv.http.fetch(`${base}/v1/charges`, {
      method: 'POST',
      headers: { authorization: 'Bearer {{secret:payments_api_key}}', 'idempotency-key': `order-${args.order_id}` },
      body: new URLSearchParams({ amount: String(args.amount_cents), currency: args.currency, description: `order ${args.order_id}` }),
      timeoutMs: 10_000,
    });
  } catch (error) {
    // Set-up problems (a host not allowed) and outages (no answer) are told apart for the conversation.
    if (error instanceof HostNotAllowed) conv.log.error('the payments host is not allowed for this key', { reason: error.message });
    else if (error instanceof UpstreamTimeout || error instanceof UpstreamUnreachable) conv.log.warning('payments API did not answer', { reason: error.name });
    else throw error;
    return { charged: false, say: 'I could not take the payment right now. Shall I try again?' };
  }
  const charge = (await response.json()) as { id?: string; amount?: number; key_used?: string; error?: string };
  // Even if the API echoed the key, what arrives here is "***": logging the whole answer is harmless.
  conv.log.info('payments API answered', { status: response.status, answer: charge });
  if (response.status !== 201) return { charged: false, say: 'The payment was declined.' };
  return { charged: true, charge_id: charge.id, say: `Done: ${(args.amount_cents / 100).toFixed(2)} ${args.currency.toUpperCase()} charged.` };
};

export default chargePayment;
