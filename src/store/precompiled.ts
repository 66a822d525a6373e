import { CompiledQuery, type Compilable } from 'kysely';

/**
 * A query built and compiled once, run many times with new arguments: for the hot path, where
 * building and compiling a query with Kysely costs several times what SQLite takes to answer it.
 * `build` receives placeholder values; each is replaced by the matching argument at run time.
 */
const precompiledTexts = new Set<string>();

/** Whether a statement's text came from precompile(): the database may keep it prepared. */
export const isPrecompiled = (sql: string): boolean => precompiledTexts.has(sql);

export function precompile<Args extends readonly unknown[], Row>(build: (...placeholders: Args) => Compilable<Row>, arity: Args['length']) {
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000placeholder ${i}\u0000`) as unknown as Args;
  const compiled = build(...placeholders).compile();
  precompiledTexts.add(compiled.sql);
  const position = new Map((placeholders as readonly unknown[]).map((value, i) => [value, i]));
  const slots = compiled.parameters.map((value) => position.get(value) ?? -1);
  return (...args: Args): CompiledQuery<Row> => {
    const parameters = compiled.parameters.map((value, i) => {
      const slot = slots[i] ?? -1;
      return slot === -1 ? value : args[slot];
    });
    return { ...compiled, parameters } as CompiledQuery<Row>;
  };
}
