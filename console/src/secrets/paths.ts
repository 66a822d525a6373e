/** URLs of the Secrets tab. Only names travel in URLs, never values. */
export const ADD_SECRET_PATH = '/secrets/new';

/** A secret's page; a secret literally named "new" gets a trailing slash so it never meets the form. */
export const secretPath = (name: string): string => `/secrets/${encodeURIComponent(name)}${name === 'new' ? '/' : ''}`;

/** The secret named by a path under /secrets/, or undefined for the list and the Add form. */
export function secretNameOfPath(path: string): string | undefined {
  if (!path.startsWith('/secrets/') || path === ADD_SECRET_PATH) return undefined;
  const rest = path.slice('/secrets/'.length).replace(/\/$/, '');
  if (rest === '' || rest.includes('/')) return undefined;
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}
