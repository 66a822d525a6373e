import { Notice } from '../ui/Notice';

/** What saving a new value does, said before it is done; shared by the whole-value and key-by-key forms. */
export function NewVersionNotice({ version, keysKept = false }: { version: number; keysKept?: boolean }) {
  return (
    <Notice tone="warning">
      Saving makes version {version} the value every granted agent reads from its next call.{keysKept ? ' Keys you leave empty keep their current values.' : ''} When
      rotating, set the new value first, test your agents, then revoke the old credential with its provider.
    </Notice>
  );
}

export function SaveNewValueButtons({ busy, onCancel }: { busy: boolean; onCancel(): void }) {
  return (
    <div className="actions">
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save new value'}
      </button>
      <button type="button" className="button" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
    </div>
  );
}
