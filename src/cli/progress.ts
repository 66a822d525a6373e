import type { RotationProgress } from '../vault/rekey.js';

/**
 * Progress of a long operator command: a bar redrawn in place on a terminal, plain lines otherwise
 * (a log keeps one line a second at most, and always the last).
 */
export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  let lastLine = 0;
  let drawn = false;

  function report(progress: RotationProgress): void {
    const { done, total, account } = progress;
    const finished = done >= total;
    if (tty) {
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      const filled = total === 0 ? width : Math.round((done / total) * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} data keys  ${account.slice(0, 24).padEnd(24)}`);
      drawn = true;
      return;
    }
    const now = Date.now();
    if (finished || now - lastLine >= 1000) {
      lastLine = now;
      stream.write(`${label}: ${done}/${total} data keys (account ${account})\n`);
    }
  }

  /** Ends the bar's line, so what follows starts on a line of its own. */
  function end(): void {
    if (drawn) stream.write('\n');
    drawn = false;
  }

  return { report, end };
}
