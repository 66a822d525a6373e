import { useEffect, useSyncExternalStore } from 'react';

/**
 * A small client-side router over the History API. Only paths and names travel in URLs, never a
 * value. A page with unsaved changes registers a leave guard: in-app navigation asks first, and
 * closing or reloading the tab triggers the browser's own warning.
 */

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());

let leaveGuard: string | null = null;
let currentPath = window.location.pathname;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

window.addEventListener('popstate', () => {
  if (leaveGuard !== null && !window.confirm(leaveGuard)) {
    // Put back the page being left; the back button is undone.
    window.history.pushState(null, '', currentPath);
    return;
  }
  leaveGuard = null;
  currentPath = window.location.pathname;
  notify();
});

window.addEventListener('beforeunload', (event) => {
  if (leaveGuard !== null) event.preventDefault();
});

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => currentPath);
}

/** Goes to another page of the console; false when the person chose to stay. */
export function navigate(to: string, options: { replace?: boolean } = {}): boolean {
  if (to === currentPath) return true;
  if (leaveGuard !== null && !window.confirm(leaveGuard)) return false;
  leaveGuard = null;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  currentPath = window.location.pathname;
  window.scrollTo(0, 0);
  notify();
  return true;
}

/** While `active`, leaving the page asks `message` first. */
export function useLeaveGuard(active: boolean, message: string): void {
  useEffect(() => {
    if (!active) return undefined;
    leaveGuard = message;
    return () => {
      if (leaveGuard === message) leaveGuard = null;
    };
  }, [active, message]);
}

/** One short message carried to the next page ("Secret deleted"), in memory only. */
let pendingNotice: string | null = null;
export function navigateWithNotice(to: string, notice: string): void {
  pendingNotice = notice;
  if (!navigate(to)) pendingNotice = null;
}
export function takeNotice(): string | null {
  const notice = pendingNotice;
  pendingNotice = null;
  return notice;
}
