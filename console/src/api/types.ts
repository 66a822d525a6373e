/**
 * Shapes of the HTTP API's answers, read off the types generated from GET /api/openapi.json
 * (src/contract): the console keeps no copy of its own. Never a value, except RevealedValue's, which
 * is only ever held in component memory, for as long as it is shown.
 */
import type { AgentSecrets, Environment, RequestBody } from '../../../src/contract/api';

export type {
  AccessEntry,
  AccessList,
  Agent,
  AgentKey,
  AgentSecrets,
  AuditEvent,
  Environment,
  EnvironmentValue,
  NewAgentKey,
  Promotion,
  NewPersonalToken,
  NewUser,
  PersonalToken,
  RevealedValue,
  SecretDetail,
  SecretKind,
  SecretOverride,
  SecretPage,
  SecretSummary,
  SecretUpdate,
  SecretVersion,
  Session,
  SessionStatus,
  SsoSettings,
  User,
} from '../../../src/contract/api';

/** The roles a person can be given (the request schema of POST /api/v1/users). */
export type Role = RequestBody<'/api/v1/users', 'post'>['role'];

/** One secret an agent can read, on its page. */
export type ReadableSecret = AgentSecrets['secrets'][number];

/** SPEC S27: how functions may use a secret's value (value, or brokered requests only). */
export type Delivery = import('../../../src/contract/api').SecretSummary['delivery'];
/** The environments agent keys belong to (SPEC S21), in the order the console shows them. */
export const ENVIRONMENTS: readonly Environment[] = ['sandbox', 'pre-release', 'live'];
