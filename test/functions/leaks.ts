/**
 * An independent check that a canary does not show in some output, in any form a careless log line
 * could carry it: as is, JSON-escaped (once or twice), URL-encoded (either way), or base64 (standard or
 * URL-safe) on its own or inside a longer encoded text at any offset. Written without the SDK's masker,
 * so that a bug there cannot hide itself.
 */
export function leaksOf(output: string, canaries: readonly string[]): string[] {
  const found: string[] = [];
  const candidates = [output, tryDecodeUri(output), tryDecodeUri(output.replace(/\+/g, ' ')), jsonUnescape(output), jsonUnescape(jsonUnescape(output)), ...decodedBase64Runs(output)];
  for (const canary of canaries) {
    if (candidates.some((text) => text.includes(canary))) found.push(canary);
  }
  return found;
}

function tryDecodeUri(text: string): string {
  // Decode each escape run on its own, so one stray % does not stop the rest.
  return text.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function jsonUnescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (_match, escape: string) => {
    if (escape.startsWith('u')) return String.fromCharCode(parseInt(escape.slice(1), 16));
    return ({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[escape] ?? escape;
  });
}

/** Every run of base64 characters, decoded from each of its first four offsets, std and URL-safe. */
function decodedBase64Runs(text: string): string[] {
  const decoded: string[] = [];
  for (const run of text.match(/[A-Za-z0-9+/_-]{8,}={0,2}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) {
      const part = run.slice(skip);
      decoded.push(Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1'));
      decoded.push(Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    }
  }
  return decoded;
}
