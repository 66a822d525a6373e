import type { AgentFunction } from '../src/sdk/index.js';

/**
 * A voice agent books a table: one call to a booking API that wants a bearer token.
 *
 * Secret: `booking_api_token` (single value), granted to the agent that runs this function.
 *
 *   agent-secrets run examples/book_table.ts --args '{"restaurant_id":"r-17","party_size":2,"time":"2026-12-24T19:30","name":"Ada"}'
 */
interface BookingArgs {
  restaurant_id: string;
  party_size: number;
  time: string;
  name: string;
  /** Only for trying this out against examples/mock-apis.mjs. */
  api_base?: string;
}

// The booking provider has a sandbox; conv.env says which world this conversation runs in.
const API_BASE = {
  sandbox: 'https://sandbox.api.booking.example.com',
  'pre-release': 'https://sandbox.api.booking.example.com',
  live: 'https://api.booking.example.com',
} as const;

const bookTable: AgentFunction<BookingArgs> = async (conv, args) => {
  // Read on every call: a rotated token is used from the next conversation turn on.
  const token = await conv.utils.get_secret<string>('booking_api_token');
  const base = args.api_base ?? API_BASE[conv.env];

  conv.log.info('booking a table', { restaurant: args.restaurant_id, party_size: args.party_size, time: args.time });
  const response = await fetch(`${base}/v1/reservations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ restaurant_id: args.restaurant_id, party_size: args.party_size, time: args.time, guest_name: args.name }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) {
    // Even if this line printed the token by mistake, agent-secrets run would show *** instead.
    conv.log.error('booking API refused the reservation', { status: response.status });
    return { booked: false, say: 'Sorry, I could not book that table. Shall I try another time?' };
  }
  const reservation = (await response.json()) as { id: string; time: string };
  conv.log.info('booked', { reservation: reservation.id });
  return { booked: true, reservation_id: reservation.id, say: `You're booked for ${args.party_size} at ${reservation.time}.` };
};

export default bookTable;
