/**
 * Text for what a function hands us (log fields, its result, what it throws), whatever its shape:
 * JSON where possible, and never a crash on a cycle, a BigInt or an Error (which JSON would print as {}).
 * Masking happens on this text, so every value is seen in the form it is printed in.
 */
export function toPrintable(value: unknown, indent?: number): string {
  if (typeof value === 'string') return JSON.stringify(value);
  // The objects being walked, each with what was handed to JSON.stringify in its place.
  const path: Array<{ original: object; shown: unknown }> = [];
  const text = JSON.stringify(
    value,
    function (this: unknown, _key, item: unknown) {
      if (typeof item === 'bigint') return item.toString();
      if (typeof item === 'function' || typeof item === 'symbol') return undefined;
      if (typeof item !== 'object' || item === null) return item;
      // `this` is the object holding `item`: drop the objects we have walked back out of.
      while (path.length > 0 && path[path.length - 1]?.shown !== this) path.pop();
      if (path.some((step) => step.original === item)) return '[Circular]';
      const shown = item instanceof Error
        ? { ...item, name: item.name, message: item.message }
        : item instanceof Map
          ? Object.fromEntries(item)
          : item instanceof Set
            ? [...item]
            : item;
      path.push({ original: item, shown });
      return shown;
    },
    indent,
  );
  return text ?? String(value);
}

/** A thrown thing as name and message, also when it is not an Error (`throw "no table"`). */
export function describeThrown(thrown: unknown): { name: string; message: string; stack: string | undefined } {
  if (thrown instanceof Error) return { name: thrown.name || 'Error', message: thrown.message, stack: thrown.stack };
  return { name: 'Error', message: typeof thrown === 'string' ? thrown : toPrintable(thrown), stack: undefined };
}
