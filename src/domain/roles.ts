export const ROLES = ['admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** Where a run-time call comes from; functions read it as `conv.env`. */
export const ENVIRONMENTS = ['sandbox', 'pre-release', 'live'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
