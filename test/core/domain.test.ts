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
