import { useCallback, useEffect, useRef, useState } from 'react';

export type Load<T> = { state: 'loading' } | { state: 'loaded'; data: T } | { state: 'failed'; error: unknown };

/**
 * Loads `fetcher` when `key` changes and on reload(); an answer that arrives after a newer request
 * was started is dropped. While reloading, the last data stays on screen.
 */
export function useLoad<T>(fetcher: () => Promise<T>, key: string): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    const mine = ++latest.current;
    fetcherRef
      .current()
      .then((data) => {
        if (mine === latest.current) setLoad({ state: 'loaded', data });
      })
      .catch((error: unknown) => {
        if (mine === latest.current) setLoad({ state: 'failed', error });
      });
  }, [key, round]);

  const reload = useCallback(() => setRound((n) => n + 1), []);
  return [load, reload];
}

/**
 * Calls `refresh` when the person comes back to the page (its tab becomes visible, or its window
 * regains focus), so that times like "last read" are current when they are looked at again. Coming
 * back may fire both events: useLoad keeps only the newest answer, so the second reload costs a
 * request and nothing else.
 */
export function useRefreshOnFocus(refresh: () => void): void {
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    const onReturn = () => {
      if (document.visibilityState === 'visible') refreshRef.current();
    };
    window.addEventListener('focus', onReturn);
    document.addEventListener('visibilitychange', onReturn);
    return () => {
      window.removeEventListener('focus', onReturn);
      document.removeEventListener('visibilitychange', onReturn);
    };
  }, []);
}
