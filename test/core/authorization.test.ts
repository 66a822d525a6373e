/**
 * The authorization matrix: every management and run-time route, called by every kind of caller.
 * Read it top to bottom: each row is a route, each column a caller, each cell the status (and error
 * code) that caller must get. Every cell runs against fresh objects, so destructive routes do not
 * disturb their neighbours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserCaller } from '../../src/vault/callers.js';
import { startHarness, type Harness } from '../support/harness.js';
import { DATABASES } from '../support/stores.js';

const CALLERS = ['anonymous', 'bogus token', 'revoked token', 'member', 'other admin', 'vault off', 'admin', 'agent granted', 'agent denied', 'other agent'] as const;
type CallerKind = (typeof CALLERS)[number];

interface Fixture {
  secret(): Promise<string>;
  agent(): Promise<string>;
  agentKeyId(): Promise<string>;
  user(): Promise<string>;
  adminToken(): Promise<string>;
}

interface Route {
  method: string;
  path: (fx: Fixture) => Promise<string>;
  body?: (fx: Fixture) => unknown;
}

let unique = 0;
const next = () => ++unique;

const R = (method: string, path: (fx: Fixture) => Promise<string>, body?: (fx: Fixture) => unknown): Route => ({ method, path, ...(body ? { body } : {}) });
const fixed = (path: string) => async () => path;

// prettier-ignore
const MATRIX: Array<[string, Route, Record<CallerKind, string>]> = [
  //                                                                                                       anonymous  bogus  revoked  member                 other admin  vault off                  admin  agent granted  agent denied       other agent
  ['list secrets',      R('GET', fixed('/api/v1/secrets')),                                                row('401', '401', '401', '403 admin_required', '200', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['create secret',     R('POST', fixed('/api/v1/secrets'), () => ({ name: `new_${next()}`, value: 'v' })), row('401', '401', '401', '403 admin_required', '201', '403 vault_not_enabled', '201', '401', '401', '401')],
  ['get secret',        R('GET', async (fx) => `/api/v1/secrets/${await fx.secret()}`),                    row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['update secret',     R('PATCH', async (fx) => `/api/v1/secrets/${await fx.secret()}`, () => ({ value: 'v2' })), row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['delete secret',     R('DELETE', async (fx) => `/api/v1/secrets/${await fx.secret()}`),                 row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '204', '401', '401', '401')],
  ['reveal secret',     R('POST', async (fx) => `/api/v1/secrets/${await fx.secret()}/reveal`, () => ({})), row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['get access',        R('GET', async (fx) => `/api/v1/secrets/${await fx.secret()}/access`),             row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['set access',        R('PUT', async (fx) => `/api/v1/secrets/${await fx.secret()}/access`, () => ({ agents: [] })), row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['list versions',     R('GET', async (fx) => `/api/v1/secrets/${await fx.secret()}/versions`),           row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['restore version',   R('POST', async (fx) => `/api/v1/secrets/${await fx.secret()}/versions/1/restore`), row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['list agents',       R('GET', fixed('/api/v1/agents')),                                                 row('401', '401', '401', '200', '200', '200', '200', '401', '401', '401')],
  ['create agent',      R('POST', fixed('/api/v1/agents'), () => ({ name: `agent ${next()}` })),           row('401', '401', '401', '403 admin_required', '201', '201', '201', '401', '401', '401')],
  ['rename agent',      R('PATCH', async (fx) => `/api/v1/agents/${await fx.agent()}`, () => ({ name: `renamed ${next()}` })), row('401', '401', '401', '403 admin_required', '404 not_found', '200', '200', '401', '401', '401')],
  ['delete agent',      R('DELETE', async (fx) => `/api/v1/agents/${await fx.agent()}`),                   row('401', '401', '401', '403 admin_required', '404 not_found', '204', '204', '401', '401', '401')],
  ['list agent keys',   R('GET', async (fx) => `/api/v1/agents/${await fx.agent()}/keys`),                 row('401', '401', '401', '403 admin_required', '404 not_found', '200', '200', '401', '401', '401')],
  ['create agent key',  R('POST', async (fx) => `/api/v1/agents/${await fx.agent()}/keys`, () => ({})),    row('401', '401', '401', '403 admin_required', '404 not_found', '201', '201', '401', '401', '401')],
  ['revoke agent key',  R('DELETE', async (fx) => `/api/v1/agents/${await fx.agent()}/keys/${await fx.agentKeyId()}`), row('401', '401', '401', '403 admin_required', '404 not_found', '204', '204', '401', '401', '401')],
  ["agent's secrets",   R('GET', async (fx) => `/api/v1/agents/${await fx.agent()}/secrets`),              row('401', '401', '401', '403 admin_required', '404 not_found', '403 vault_not_enabled', '200', '401', '401', '401')],
  ['list users',        R('GET', fixed('/api/v1/users')),                                                  row('401', '401', '401', '403 admin_required', '200', '200', '200', '401', '401', '401')],
  ['add user',          R('POST', fixed('/api/v1/users'), () => ({ email: `u${next()}@example.com`, role: 'member', password: 'correct horse battery' })), row('401', '401', '401', '403 admin_required', '201', '201', '201', '401', '401', '401')],
  ['set user role',     R('PATCH', async (fx) => `/api/v1/users/${await fx.user()}`, () => ({ role: 'admin' })), row('401', '401', '401', '403 admin_required', '404 not_found', '200', '200', '401', '401', '401')],
  ['remove user',       R('DELETE', async (fx) => `/api/v1/users/${await fx.user()}`),                     row('401', '401', '401', '403 admin_required', '404 not_found', '204', '204', '401', '401', '401')],
  ['list own tokens',   R('GET', fixed('/api/v1/tokens')),                                                 row('401', '401', '401', '200', '200', '200', '200', '401', '401', '401')],
  ['create own token',  R('POST', fixed('/api/v1/tokens'), () => ({ name: 'ci' })),                       row('401', '401', '401', '201', '201', '201', '201', '401', '401', '401')],
  ["revoke admin's token", R('DELETE', async (fx) => `/api/v1/tokens/${await fx.adminToken()}`),           row('401', '401', '401', '404 not_found', '404 not_found', '204', '204', '401', '401', '401')],
  ['audit trail',       R('GET', fixed('/api/v1/audit')),                                                  row('401', '401', '401', '403 admin_required', '200', '200', '200', '401', '401', '401')],
  ['runtime read',      R('GET', async (fx) => `/runtime/v1/secrets/${await fx.secret()}`),                row('401', '401', '401', '401', '401', '401', '401', '200', '403 MissingAccess', '404 SecretNotFound')],
  ['runtime list',      R('GET', fixed('/runtime/v1/secrets')),                                            row('401', '401', '401', '401', '401', '401', '401', '200', '200', '200')],
];

function row(...cells: string[]): Record<CallerKind, string> {
  return Object.fromEntries(CALLERS.map((caller, i) => [caller, cells[i] ?? 'missing'])) as Record<CallerKind, string>;
}

describe.each(DATABASES)('authorization matrix on %s', (kind) => {
  let h: Harness;
  let adminCaller: UserCaller;
  const credentials = {} as Record<CallerKind, string | undefined>;
  let grantedAgentId: string;

  beforeAll(async () => {
    h = await startHarness(kind);
    adminCaller = await h.vault.people.authenticateToken(h.admin.token);
    const granted = await h.agentWithKey(h.admin.token, 'granted');
    const denied = await h.agentWithKey(h.admin.token, 'denied');
    grantedAgentId = granted.id;
    const member = await h.call('POST', '/api/v1/users', { token: h.admin.token, body: { email: 'member@example.com', role: 'member', password: 'member password 1' } });
    const memberCaller = await h.vault.people.login('member@example.com', 'member password 1');
    const memberToken = await h.vault.people.createToken(memberCaller.caller, 'matrix');
    expect(member.status).toBe(201);
    const revoked = await h.vault.people.createToken(adminCaller, 'revoked');
    await h.vault.people.revokeToken(adminCaller, revoked.id);
    const other = await h.newAccount('other');
    const otherAgent = await h.agentWithKey(other.token, 'granted');
    // The same name in the other account: isolation must hold even when names collide.
    await h.call('POST', '/api/v1/secrets', { token: other.token, body: { name: 'elsewhere', value: 'x', agents: ['granted'] } });

    Object.assign(credentials, {
      anonymous: undefined,
      'bogus token': 'asp_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'revoked token': revoked.token,
      member: memberToken.token,
      'other admin': other.token,
      'vault off': h.admin.token,
      admin: h.admin.token,
      'agent granted': granted.key,
      'agent denied': denied.key,
      'other agent': otherAgent.key,
    });
  });
  afterAll(async () => h?.close());

  function fixture(): Fixture {
    return {
      secret: async () => {
        const name = `secret_${next()}`;
        await h.vault.secrets.createSecret(adminCaller, { name, value: 'matrix value', agents: [grantedAgentId] });
        return name;
      },
      agent: async () => {
        const agent = await h.vault.agents.createAgent(adminCaller, `fixture ${next()}`);
        fixtureAgent = agent.id;
        return agent.id;
      },
      agentKeyId: async () => (await h.vault.agents.createAgentKey(adminCaller, fixtureAgent, { name: 'k' })).id,
      user: async () => (await h.vault.people.createUser(adminCaller, { email: `fixture${next()}@example.com`, role: 'member', password: 'fixture password 1' })).id,
      adminToken: async () => (await h.vault.people.createToken(adminCaller, 'fixture')).id,
    };
  }
  let fixtureAgent = '';

  for (const caller of CALLERS) {
    it(`every route answers "${caller}" as the matrix says`, async () => {
      if (caller === 'vault off') await h.vault.accounts.setVault('default', false);
      try {
        const got: string[] = [];
        const want: string[] = [];
        for (const [label, route, expected] of MATRIX) {
          const fx = fixture();
          const path = await route.path(fx);
          const body = route.body?.(fx);
          const token = credentials[caller];
          const response = await h.call(route.method, path, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });
          const cell = expected[caller];
          const code = cell.includes(' ') ? ` ${response.body?.error?.code}` : '';
          got.push(`${label}: ${response.status}${code}`);
          want.push(`${label}: ${cell}`);
        }
        expect(got).toEqual(want);
      } finally {
        if (caller === 'vault off') await h.vault.accounts.setVault('default', true);
      }
    });
  }
});
