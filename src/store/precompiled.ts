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
  const { compiled, placeholders } = compileWithPlaceholders(build, arity);
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

/**
 * As precompile, for a statement whose parameters are exactly its arguments in order (a multi-row
 * INSERT of hundreds): the argument array becomes the parameters as it is, with no lookup per value.
 * Throws at compile time if the statement's parameters are not the arguments in order.
 */
export function precompileInOrder<Row>(build: (...placeholders: unknown[]) => Compilable<Row>, arity: number) {
  const { compiled, placeholders } = compileWithPlaceholders(build, arity);
  if (compiled.parameters.length !== arity || compiled.parameters.some((value, i) => value !== placeholders[i])) {
    throw new Error('precompileInOrder: the statement\'s parameters are not its arguments in order');
  }
  return (args: readonly unknown[]): CompiledQuery<Row> => ({ ...compiled, parameters: args }) as CompiledQuery<Row>;
}

function compileWithPlaceholders<Args extends readonly unknown[], Row>(build: (...placeholders: Args) => Compilable<Row>, arity: number) {
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000placeholder ${i}\u0000`) as unknown as Args;
  const compiled = build(...placeholders).compile();
  precompiledTexts.add(compiled.sql);
  return { compiled, placeholders };
}
