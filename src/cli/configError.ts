/** A setting that stops a command before it does anything, reported as one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A command used the wrong way, found while it runs (after commander's own checks). */
export class UsageError extends Error {
  override name = 'UsageError';
}
