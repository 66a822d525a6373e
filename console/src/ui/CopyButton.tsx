import { useEffect, useState } from 'react';

interface CopyButtonProps {
  /** What to copy; may fetch it first (a secret value is revealed, and audited, only on press). */
  text: () => string | Promise<string>;
  label: string;
  /** The accessible name when the visible label is not enough ("Copy client_id"). */
  ariaLabel?: string;
  className?: string;
}

/** Copies to the clipboard and says so for a moment. */
export function CopyButton({ text, label, ariaLabel, className }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = window.setTimeout(() => setState('idle'), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(await text());
      setState('copied');
    } catch {
      setState('failed');
    }
  };

  return (
    <button type="button" className={`button button-small ${className ?? ''}`} onClick={copy} aria-label={ariaLabel}>
      <span aria-live="polite">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : label}</span>
    </button>
  );
}
