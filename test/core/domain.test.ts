import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../src/domain/suggest.js';
import { suggestSecretName } from '../../src/domain/names.js';
import { secretValueSchema } from '../../src/domain/secrets.js';
import { credentialId, credentialMatches, issueCredential, oneTimePassword } from '../../src/crypto/tokens.js';

describe('did-you-mean suggestions', () => {
  const readable = ['stripe_api_key', 'twilio_token', 'oauth_client'];
  it.each([
    ['Stripe_API_Key', 'stripe_api_key'],
    ['stripe_api_kye', 'stripe_api_key'],
    ['stripe-api-key', 'stripe_api_key'],
    ['twilio_tok', 'twilio_token'],
    ['oauth', undefined],
    ['something_else', undefined],
  ])('%s → %s', (wanted, expected) => {
    expect(closestName(wanted, readable)).toBe(expected);
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('abcd', 'abdc', 3)).toBe(1);
    expect(editDistance('kitten', 'sitting', 5)).toBe(3);
  });

  it('computes within its band the same distance as the full table, capped at the limit', () => {
    /** The textbook optimal-string-alignment table, every cell. */
    const full = (a: string, b: string): number => {
      const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
      for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
          const row = d[i] as number[];
          const up = d[i - 1] as number[];
          row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
        }
      }
      return d[a.length]![b.length]!;
    };
    let seed = 42;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = () => Array.from({ length: random(9) }, () => 'abc'[random(3)]).join('');
    for (let round = 0; round < 3000; round++) {
      const [a, b, limit] = [word(), word(), 1 + random(4)];
      expect(editDistance(a, b, limit), `${a} ${b} ${limit}`).toBe(Math.min(full(a, b), limit));
    }
  });
});

describe('naming', () => {
  it('suggests lowercase with underscores', () => {
    expect(suggestSecretName('  Stripe API key! ')).toBe('stripe_api_key');
  });
});

describe('value rule', () => {
  it('counts bytes, not characters: 64 KiB of UTF-8', () => {
    expect(secretValueSchema.safeParse('é'.repeat(32768)).success).toBe(true);
    expect(secretValueSchema.safeParse('é'.repeat(32769)).success).toBe(false);
  });
});

describe('credentials', () => {
  it('are 256-bit random, recognised by kind, and matched only whole', () => {
    const a = issueCredential('ask');
    const b = issueCredential('ask');
    expect(a.token).not.toBe(b.token);
    expect(credentialId(a.token, 'ask')).toBe(a.id);
    expect(credentialId(a.token, 'asp')).toBeUndefined();
    expect(credentialId(`${a.token}x`, 'ask')).toBeUndefined();
    expect(credentialMatches(a.token, a.hash)).toBe(true);
    expect(credentialMatches(b.token, a.hash)).toBe(false);
  });

  it('one-time passwords are 20 characters of an unambiguous alphabet', () => {
    const passwords = new Set(Array.from({ length: 50 }, () => oneTimePassword()));
    expect(passwords.size).toBe(50);
    for (const password of passwords) expect(password).toMatch(/^[a-hjkmnp-zA-HJ-NP-Z2-9]{20}$/);
  });
});
