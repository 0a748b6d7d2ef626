// A small History API router: the console's screens are paths (the server falls back
// to index.html for them), so a link can be shared and the back button works.
import { useEffect, useState } from 'react';

export type Route =
  | { screen: 'projects' }
  | { screen: 'project'; projectId: string }
  | { screen: 'site'; siteId: string }
  | { screen: 'job'; jobId: string }
  | { screen: 'admin' }
  | { screen: 'notFound'; path: string };

/** The route a path names, relative to the console's base path. */
export function parseRoute(path: string): Route {
  const parts = path.split('/').filter((part) => part !== '').map(decodeURIComponent);
  const [first, second] = parts;
  if (parts.length === 0) return { screen: 'projects' };
  if (parts.length === 1 && first === 'admin') return { screen: 'admin' };
  if (parts.length === 2 && second !== undefined) {
    if (first === 'projects') return { screen: 'project', projectId: second };
    if (first === 'sites') return { screen: 'site', siteId: second };
    if (first === 'jobs') return { screen: 'job', jobId: second };
  }
  return { screen: 'notFound', path };
}

export function routePath(route: Route): string {
  switch (route.screen) {
    case 'projects': return '/';
    case 'project': return `/projects/${encodeURIComponent(route.projectId)}`;
    case 'site': return `/sites/${encodeURIComponent(route.siteId)}`;
    case 'job': return `/jobs/${encodeURIComponent(route.jobId)}`;
    case 'admin': return '/admin';
    case 'notFound': return route.path;
  }
}

const NAVIGATED = 'entmoot:navigated';

/** Goes to `route`; `state` rides in the history entry (never in storage), e.g. a
 * program handed to another site's editor. */
export function navigate(route: Route, state: unknown = null): void {
  window.history.pushState(state, '', routePath(route));
  window.dispatchEvent(new Event(NAVIGATED));
}

/** What the current history entry carries under `key`, if anything. */
export function historyState(key: string): unknown {
  const state: unknown = window.history.state;
  return typeof state === 'object' && state !== null ? (state as Record<string, unknown>)[key] : undefined;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}
