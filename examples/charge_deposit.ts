import type { AgentFunction } from '../src/sdk/index.js';

/**
 * A booking agent takes a deposit with Stripe. The function does not branch on where it runs: the
 * secret `stripe_key` holds the live key as its default and the Stripe test key as its sandbox
 * override, and the vault answers the one of the agent key's environment (docs/functions.md,
 * "Environments").
 *
 *   agent-secrets run examples/charge_deposit.ts --args '{"amount_cents": 2000}'
 */
interface DepositArgs {
  amount_cents: number;
}

const chargeDeposit: AgentFunction<DepositArgs> = async (conv, args) => {
  const key = await conv.utils.get_secret<string>('stripe_key');
  // Stripe says in the key itself which mode it is: sk_test_… or sk_live_…. A real function would
  // now call https://api.stripe.com/v1/payment_intents with it.
  const mode = key.startsWith('sk_test_') ? 'test' : 'live';
  conv.log.info('deposit prepared', { amount_cents: args.amount_cents, mode });
  return { env: conv.env, mode, amount_cents: args.amount_cents };
};
export default chargeDeposit;
