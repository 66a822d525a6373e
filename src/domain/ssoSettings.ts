import { z } from 'zod';
import { ROLES } from './roles.js';
import { DOMAIN_PATTERN, DOMAIN_RULE } from './sso.js';

/** SPEC S29: the shape of an account's SSO settings as admins send them (validation and OpenAPI). */

const PRINTABLE = /^[\x21-\x7e]+$/;

export const ssoDomainSchema = z.string({ error: `must be ${DOMAIN_RULE}` }).regex(DOMAIN_PATTERN, { error: `must be ${DOMAIN_RULE}` });

export const ssoSettingsSchema = z.strictObject(
  {
    issuer: z
      .string({ error: 'must be the issuer URL, such as https://login.example.com' })
      .max(2000, { error: 'must be at most 2000 characters' })
      .refine((text) => URL.canParse(text), { error: 'must be the issuer URL, such as https://login.example.com' }),
    clientId: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(500, { error: 'must be at most 500 characters' })
      .regex(PRINTABLE, { error: 'must be printable ASCII without spaces' }),
    clientSecret: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(2000, { error: 'must be at most 2000 characters' })
      .regex(PRINTABLE, { error: 'must be printable ASCII without spaces' })
      .optional()
      .describe('Write-only: never answered. Required the first time; leave it out to keep the one set'),
    allowedDomains: z
      .array(ssoDomainSchema, { error: 'must be a list of email domains' })
      .min(1, { error: 'must list at least one email domain' })
      .max(100, { error: 'must list at most 100 domains' })
      .refine((domains) => new Set(domains).size === domains.length, { error: 'must not list a domain twice' }),
    jitRole: z
      .enum(ROLES, { error: 'must be "admin", "member" or null (only existing users may sign in)' })
      .nullable()
      .describe('The role of users a first SSO sign-in creates; null: only existing users may sign in'),
    passwordSignIn: z.boolean({ error: 'must be true or false' }).describe('Whether password sign-in stays allowed for the account'),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'must be a JSON object') },
);

export type SsoSettingsInput = z.infer<typeof ssoSettingsSchema>;

