/**
 * The JSON shapes of the HTTP API, by name, for the console, the SDK and the CLI: each is read off the
 * types generated from the OpenAPI document (openapi.generated.ts), so none is a copy that can drift.
 * Type-only: nothing here runs, and nothing here imports the server.
 */
import type { paths } from './openapi.generated.js';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;

/** The JSON answer of `method path` with the given status (200 by default). */
export type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends { responses: infer R }
  ? S extends keyof R
    ? Json<R[S]>
    : never
  : never;

/** The JSON body `method path` takes. */
export type RequestBody<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;

export type Session = Answer<'/api/v1/auth/session', 'get'>;
export type SessionStatus = Answer<'/api/v1/auth/status', 'get'>;
/** A secret's facts as lists and changes answer them (never a value). */
export type SecretSummary = Answer<'/api/v1/secrets', 'get'>['secrets'][number];
/** One secret's facts with what each environment reads now (SPEC S22). */
export type SecretDetail = Answer<'/api/v1/secrets/{name}', 'get'>;
export type Environment = SecretDetail['environments'][number]['environment'];
export type EnvironmentValue = SecretDetail['environments'][number];
export type SecretOverride = SecretSummary['overrides'][number];
export type Promotion = Answer<'/api/v1/secrets/{name}/promote', 'post'>;
export type SecretKind = SecretSummary['kind'];
export type SecretPage = Answer<'/api/v1/secrets', 'get'>;
export type SecretUpdate = RequestBody<'/api/v1/secrets/{name}', 'patch'>;
export type RevealedValue = Answer<'/api/v1/secrets/{name}/reveal', 'post'>;
export type AccessList = Answer<'/api/v1/secrets/{name}/access', 'get'>;
export type AccessEntry = AccessList['agents'][number];
export type SecretVersion = Answer<'/api/v1/secrets/{name}/versions', 'get'>['versions'][number];
export type AuditEvent = Answer<'/api/v1/audit', 'get'>['events'][number];
export type Agent = Answer<'/api/v1/agents/{agent}', 'get'>;
export type AgentKey = Answer<'/api/v1/agents/{agent}/keys', 'get'>['keys'][number];
export type NewAgentKey = Answer<'/api/v1/agents/{agent}/keys', 'post', 201>;
export type AgentSecrets = Answer<'/api/v1/agents/{agent}/secrets', 'get'>;
export type User = Answer<'/api/v1/users', 'get'>['users'][number];
/** SPEC S17: one of the caller's own personal access tokens (never the token itself). */
export type PersonalToken = Answer<'/api/v1/tokens', 'get'>['tokens'][number];
/** A new personal access token: the token is answered this once. */
export type NewPersonalToken = Answer<'/api/v1/tokens', 'post', 201>;
export type NewUser = Answer<'/api/v1/users', 'post', 201>;
/** SPEC S29: an account's single sign-on settings; the client secret is never answered. */
export type SsoSettings = Answer<'/api/v1/settings/sso', 'get'>;
export type RuntimeSecret = Answer<'/runtime/v1/secrets/{name}', 'get'>;
export type RuntimeSecretList = Answer<'/runtime/v1/secrets', 'get'>;
/** SPEC S26: what POST /runtime/v1/requests takes, and its answer (every used value ***). */
export type BrokeredRequest = RequestBody<'/runtime/v1/requests', 'post'>;
export type BrokeredAnswer = Answer<'/runtime/v1/requests', 'post'>;
