import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, setCsrfToken, whenSignedOut } from '../api/client';
import type { Session, SessionStatus } from '../api/types';

interface SessionState {
  session: Session;
  signOut(): Promise<void>;
  /** The server's answer after a change to this session (a new password lifts passwordChangeRequired). */
  replaceSession(session: Session): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error('useSession outside a signed-in page');
  return state;
}

export const isAdmin = (session: Session): boolean => session.user.role === 'admin';
/** SPEC S8: the Secrets tab is for admins of an account whose vault is enabled. */
export const canManageSecrets = (session: Session): boolean => isAdmin(session) && session.account.vaultEnabled;

type Phase = { kind: 'loading' } | { kind: 'signed-out'; notice?: string } | { kind: 'signed-in'; session: Session } | { kind: 'unreachable'; message: string };

/** Asks the server who is signed in; renders `signedOut` or `children` accordingly. */
export function SessionProvider({ children, signedOut }: { children: ReactNode; signedOut: (onSignedIn: (session: Session) => void, notice?: string) => ReactNode }) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });

  const signedIn = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken ?? null);
    setPhase({ kind: 'signed-in', session });
  }, []);

  useEffect(() => {
    whenSignedOut(() => {
      setCsrfToken(null);
      setPhase({ kind: 'signed-out', notice: 'Your session has ended. Sign in again.' });
    });
    // /auth/status answers 200 when nobody is signed in: a first visit leaves the browser's console clean.
    api
      .get<SessionStatus>('/api/v1/auth/status')
      .then(({ session }) => (session === null ? setPhase({ kind: 'signed-out' }) : signedIn(session)))
      .catch((error: unknown) => setPhase({ kind: 'unreachable', message: error instanceof Error ? error.message : 'The service cannot be reached.' }));
    return () => whenSignedOut(null);
  }, [signedIn]);

  const signOut = useCallback(async () => {
    await api.post('/api/v1/auth/logout').catch(() => undefined);
    setCsrfToken(null);
    setPhase({ kind: 'signed-out', notice: 'You are signed out.' });
  }, []);

  if (phase.kind === 'loading') return <p className="page-status" role="status">Loading…</p>;
  if (phase.kind === 'unreachable') return <p className="page-status" role="alert">{phase.message}</p>;
  if (phase.kind === 'signed-out') return <>{signedOut(signedIn, phase.notice)}</>;
  return <SessionContext.Provider value={{ session: phase.session, signOut, replaceSession: signedIn }}>{children}</SessionContext.Provider>;
}
