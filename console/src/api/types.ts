/** Shapes of the HTTP API's answers (see GET /api/openapi.json). Never a value, except SecretValue. */

export type Role = 'admin' | 'member';

export interface Session {
  user: { id: string; email: string; role: string };
  account: { id: string; name: string; vaultEnabled: boolean };
  /** Signed in with a one-time password: this session may only change the password (SPEC S19). */
  passwordChangeRequired: boolean;
  csrfToken?: string;
}

export type SecretKind = 'single' | 'kv';

/** Where an agent's functions run (SPEC S21); what conv.env says. */
export type Environment = 'sandbox' | 'pre-release' | 'live';
export const ENVIRONMENTS: readonly Environment[] = ['sandbox', 'pre-release', 'live'];

/** An environment with a value of its own (SPEC S22). */
export interface Override {
  environment: Environment;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** What a key of one environment reads of a secret now. */
export interface EnvironmentValue {
  environment: Environment;
  version: number;
  source: 'default' | 'override';
}

export interface SecretSummary {
  id: string;
  name: string;
  description: string;
  kind: SecretKind;
  keys: string[];
  version: number;
  agentsWithAccess: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  lastReadAt: string | null;
  overrides: Override[];
  /** On GET /api/v1/secrets/{name} only. */
  environments?: EnvironmentValue[];
}

export interface SecretPage {
  secrets: SecretSummary[];
  total: number;
  next: string | null;
}

/** Only ever held in component memory, for as long as it is shown. */
export interface RevealedValue {
  name: string;
  kind: SecretKind;
  version: number;
  value: string | Record<string, string>;
  environment: Environment | null;
}

export interface AccessEntry {
  agentId: string;
  agentName: string;
  granted: boolean;
  grantedAt: string | null;
  grantedBy: string | null;
  lastReadAt: string | null;
  lastReads: Array<{ environment: Environment; version: number; at: string }>;
}

export interface AccessList {
  secret: string;
  agents: AccessEntry[];
}

export interface SecretVersion {
  version: number;
  kind: SecretKind;
  keys: string[];
  createdAt: string;
  createdBy: string;
  restoredFrom: number | null;
  environment: Environment | null;
  current: boolean;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: { type: string; id: string | null; name: string | null };
  action: string;
  secret: string | null;
  version: number | null;
  agent: string | null;
  outcome: string;
  environment: string | null;
  detail: unknown;
}

export interface Agent {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
}

export interface AgentKey {
  id: string;
  name: string;
  environment: Environment;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

export interface ReadableSecret {
  name: string;
  kind: SecretKind;
  keys: string[];
  description: string;
  lastReadAt: string | null;
  environments: EnvironmentValue[];
}

export interface User {
  id: string;
  email: string;
  role: string;
  createdAt: string;
  createdBy: string;
}
