import type { ReactNode } from 'react';

interface Props {
  /** What will happen, in a few words. */
  prompt: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A second click, in place, before an action that cannot be taken back. */
export function InlineConfirm({ prompt, confirmLabel, danger = false, disabled = false, onConfirm, onCancel }: Props) {
  return (
    <span className="inline-confirm">
      <span>{prompt}</span>
      <button type="button" className={`button button-small ${danger ? 'button-danger' : 'button-primary'}`} disabled={disabled} onClick={onConfirm}>
        {confirmLabel}
      </button>
      <button type="button" className="button button-small" onClick={onCancel}>
        Cancel
      </button>
    </span>
  );
}
