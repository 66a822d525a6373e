import { useId, useState } from 'react';
import { Field } from '../ui/Field';
import { MAX_KV_KEYS, newRow, type KeyValueRow, type ValueDraft, type ValueProblems } from './rules';

interface ValueEditorProps {
  draft: ValueDraft;
  onChange(draft: ValueDraft): void;
  problems: ValueProblems;
  /** Show problems (after a first try to save, or once a field was left). */
  showProblems: boolean;
}

/** Examples in the key fields, one per row: the usual parts of a credential, in their usual order. */
const KEY_PLACEHOLDERS = ['client_id', 'client_secret', 'audience', 'token_url'];

/** A single value, or key/value rows that can be added and removed. Typed text is masked by default. */
export function ValueEditor({ draft, onChange, problems, showProblems }: ValueEditorProps) {
  const [showTyped, setShowTyped] = useState(false);
  const [touched, setTouched] = useState<Set<number | 'single'>>(new Set());
  const id = useId();
  const touch = (what: number | 'single') => setTouched((before) => new Set(before).add(what));
  const shows = (what: number | 'single') => showProblems || touched.has(what);

  const setRow = (rowId: number, change: Partial<KeyValueRow>) =>
    onChange({ ...draft, rows: draft.rows.map((row) => (row.id === rowId ? { ...row, ...change } : row)) });

  return (
    <fieldset className="value-editor">
      <legend>Value</legend>
      <div className="segmented" role="radiogroup" aria-label="Kind of value">
        <label className={draft.kind === 'single' ? 'segment segment-on' : 'segment'}>
          <input type="radio" name={`${id}-kind`} value="single" checked={draft.kind === 'single'} onChange={() => onChange({ ...draft, kind: 'single' })} />
          Single value
        </label>
        <label className={draft.kind === 'kv' ? 'segment segment-on' : 'segment'}>
          <input type="radio" name={`${id}-kind`} value="kv" checked={draft.kind === 'kv'} onChange={() => onChange({ ...draft, kind: 'kv' })} />
          Key/value pairs
        </label>
      </div>

      {draft.kind === 'single' ? (
        <Field
          label="Secret value"
          hint="An API key, token or password: up to 64 KiB."
          error={shows('single') ? problems.value : undefined}
        >
          <textarea
            className={`input input-mono${showTyped ? '' : ' input-masked'}`}
            rows={3}
            value={draft.single}
            onChange={(event) => onChange({ ...draft, single: event.target.value })}
            onBlur={() => touch('single')}
            autoComplete="off"
            spellCheck={false}
            data-1p-ignore
            data-lpignore="true"
          />
        </Field>
      ) : (
        <div className="kv-rows">
          <p className="field-hint">For credentials with several parts, like client_id and client_secret. Up to {MAX_KV_KEYS} keys, 64 KiB in all.</p>
          {draft.rows.map((row, index) => {
            const error = shows(row.id) ? problems.rows[row.id] : undefined;
            return (
              <div className={`kv-row${error ? ' kv-row-invalid' : ''}`} key={row.id}>
                <Field label={`Key ${index + 1}`} className="kv-key">
                  <input
                    className="input input-mono"
                    value={row.key}
                    placeholder={KEY_PLACEHOLDERS[index] ?? 'key_name'}
                    onChange={(event) => setRow(row.id, { key: event.target.value })}
                    autoComplete="off"
                    spellCheck={false}
                  />
                </Field>
                <Field label={`Value of key ${index + 1}`} className="kv-value">
                  <input
                    className="input input-mono"
                    type={showTyped ? 'text' : 'password'}
                    value={row.value}
                    onChange={(event) => setRow(row.id, { value: event.target.value })}
                    onBlur={() => touch(row.id)}
                    autoComplete="new-password"
                    spellCheck={false}
                    data-1p-ignore
                    data-lpignore="true"
                  />
                </Field>
                <button
                  type="button"
                  className="button button-small button-quiet kv-remove"
                  onClick={() => onChange({ ...draft, rows: draft.rows.filter((other) => other.id !== row.id) })}
                  disabled={draft.rows.length <= 1}
                  aria-label={`Remove key ${index + 1}${row.key ? ` (${row.key})` : ''}`}
                >
                  Remove
                </button>
                {error ? <p className="field-error kv-error">{error}</p> : null}
              </div>
            );
          })}
          <div className="actions">
            <button type="button" className="button button-small" onClick={() => onChange({ ...draft, rows: [...draft.rows, newRow()] })} disabled={draft.rows.length >= MAX_KV_KEYS}>
              Add key
            </button>
          </div>
          {showProblems && problems.value ? <p className="field-error">{problems.value}</p> : null}
        </div>
      )}
      <label className="check">
        <input type="checkbox" checked={showTyped} onChange={(event) => setShowTyped(event.target.checked)} />
        Show what I type
      </label>
    </fieldset>
  );
}
