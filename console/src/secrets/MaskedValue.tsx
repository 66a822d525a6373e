import { useEffect, useRef, useState, type FocusEvent, type KeyboardEvent, type PointerEvent } from 'react';
import { api, messageOf, seg } from '../api/client';
import type { Environment, RevealedValue, SecretSummary } from '../api/types';
import { CopyButton } from '../ui/CopyButton';

const MASK = '••••••••••••••••';
/** How long Reveal shows a value before masking it again; the countdown is on screen. */
export const SHOW_FOR_SECONDS = 30;

/**
 * SPEC S3: the value stays masked; it is fetched (and audited) only on an explicit action — while
 * "Hold to reveal" is held, or after Reveal until Hide, focus leaves, or 30 seconds pass (counted down
 * on screen). It lives
 * only in this component's memory while shown, never in storage or the URL.
 */
export function MaskedValue({ secret, environment, version }: { secret: SecretSummary; environment?: Environment | undefined; version?: number | undefined }) {
  const [revealed, setRevealed] = useState<RevealedValue | null>(null);
  const [mode, setMode] = useState<'hidden' | 'held' | 'toggled'>('hidden');
  const [error, setError] = useState<string | null>(null);
  // Each hide starts a new generation, so an answer arriving after release is dropped.
  const generation = useRef(0);

  // With an environment: what its keys read now (its override, else the default), SPEC S22.
  const fetchValue = () => api.post<RevealedValue>(`/api/v1/secrets/${seg(secret.name)}/reveal`, environment === undefined ? undefined : { environment });

  const show = async (how: 'held' | 'toggled') => {
    const mine = ++generation.current;
    setMode(how);
    setError(null);
    try {
      const value = await fetchValue();
      if (mine === generation.current) setRevealed(value);
    } catch (failure) {
      if (mine === generation.current) {
        setError(messageOf(failure));
        setMode('hidden');
      }
    }
  };

  const hide = () => {
    generation.current++;
    setRevealed(null);
    setMode('hidden');
  };

  // A new version, or leaving the page, forgets what was shown.
  useEffect(() => hide, [secret.version, secret.name, version, environment]);

  const [secondsLeft, setSecondsLeft] = useState(SHOW_FOR_SECONDS);
  useEffect(() => {
    if (mode !== 'toggled') return undefined;
    const until = Date.now() + SHOW_FOR_SECONDS * 1000;
    setSecondsLeft(SHOW_FOR_SECONDS);
    const timer = window.setInterval(() => {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) hide();
      else setSecondsLeft(left);
    }, 250);
    return () => window.clearInterval(timer);
  }, [mode]);

  const onBlurRegion = (event: FocusEvent<HTMLDivElement>) => {
    if (!event.currentTarget.contains(event.relatedTarget as Node | null)) hide();
  };

  const hold = {
    onPointerDown: (event: PointerEvent) => {
      if (event.button === 0) void show('held');
    },
    onPointerUp: hide,
    onPointerLeave: () => mode === 'held' && hide(),
    onPointerCancel: hide,
    onKeyDown: (event: KeyboardEvent) => {
      if ((event.key === ' ' || event.key === 'Enter') && !event.repeat) {
        event.preventDefault();
        void show('held');
      }
    },
    onKeyUp: (event: KeyboardEvent) => {
      if (event.key === ' ' || event.key === 'Enter') hide();
    },
    onContextMenu: (event: { preventDefault(): void }) => event.preventDefault(),
  };

  const current = revealed?.value;
  const copyOf = (key?: string) => async () => {
    const value = current ?? (await fetchValue()).value;
    return key === undefined || typeof value === 'string' ? (typeof value === 'string' ? value : JSON.stringify(value)) : (value[key] ?? '');
  };

  return (
    <div className="masked-value" onBlur={onBlurRegion}>
      <div className="value-box" tabIndex={revealed ? 0 : -1} aria-live="polite" aria-label={`Value of ${secret.name}${environment ? ` in ${environment}` : ''}, ${revealed ? 'shown' : 'hidden'}`}>
        {secret.kind === 'single' ? (
          <div className="value-row">
            <code className={revealed ? 'value-text' : 'value-mask'}>{typeof current === 'string' ? current : MASK}</code>
            <CopyButton text={copyOf()} label="Copy" ariaLabel={environment ? `Copy value in ${environment}` : 'Copy value'} />
          </div>
        ) : (
          secret.keys.map((key) => (
            <div className="value-row" key={key}>
              <span className="value-key">{key}</span>
              <code className={revealed ? 'value-text' : 'value-mask'}>{current !== undefined && typeof current !== 'string' ? (current[key] ?? '') : MASK}</code>
              <CopyButton text={copyOf(key)} label="Copy" ariaLabel={`Copy ${key}${environment ? ` in ${environment}` : ''}`} />
            </div>
          ))
        )}
      </div>
      <div className="actions">
        <button type="button" className="button button-small hold-button" aria-label={environment ? `Hold to reveal the ${environment} value` : undefined} {...hold}>
          {mode === 'held' ? 'Release to hide' : 'Hold to reveal'}
        </button>
        <button
          type="button"
          className="button button-small"
          aria-pressed={mode === 'toggled'}
          aria-label={environment ? `${mode === 'toggled' ? 'Hide' : 'Reveal'} the ${environment} value` : undefined}
          onClick={() => (mode === 'toggled' ? hide() : void show('toggled'))}
        >
          {mode === 'toggled' ? 'Hide' : 'Reveal'}
        </button>
        {mode === 'toggled' && revealed ? (
          <span className="reveal-countdown small" aria-live="off">
            Hides again in {secondsLeft} s
          </span>
        ) : null}
        <span className="muted small">
          Reveal shows the value for {SHOW_FOR_SECONDS} seconds. Each reveal and copy is recorded in the audit trail.
        </span>
      </div>
      {error ? <p className="field-error" role="alert">{error}</p> : null}
    </div>
  );
}
