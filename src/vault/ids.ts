import { randomBytes } from 'node:crypto';

/** Ids are a readable prefix and 64 random bits: `agt_3f9a0c1d2e4b5a6c`. */
export type IdPrefix = 'acc' | 'usr' | 'agt' | 'sec' | 'dk' | 'tok' | 'key' | 'ses';

export const newId = (prefix: IdPrefix): string => `${prefix}_${randomBytes(8).toString('hex')}`;

export const looksLikeId = (prefix: IdPrefix, text: string): boolean => new RegExp(`^${prefix}_[0-9a-f]{16}$`).test(text);

export const nowIso = (): string => new Date().toISOString();
