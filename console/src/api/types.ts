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
}

export interface AccessEntry {
  agentId: string;
  agentName: string;
  granted: boolean;
  grantedAt: string | null;
  grantedBy: string | null;
  lastReadAt: string | null;
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
}

export interface User {
  id: string;
  email: string;
  role: string;
  createdAt: string;
  createdBy: string;
}

/** SPEC S29: an account's single sign-on settings; the client secret is never answered. */
export interface SsoSettings {
  configured: boolean;
  issuer: string | null;
  clientId: string | null;
  clientSecretSet: boolean;
  allowedDomains: string[];
  jitRole: Role | null;
  passwordSignIn: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
  redirectUri: string;
  /** This session was opened through the current configuration: turning passwords off needs it. */
  signedInWithSso: boolean;
}
