// The shell: sign-in when there is no valid token, otherwise the header (who am I, in
// which organization, switching to another of theirs, sign out) and the screen the
// path names.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ConsoleConfig } from './config';
import { createApiClient, execute } from './client';
import { readToken, writeToken } from './session';
import { ApiContext, ErrorBanner, useApi } from './api';
import { ViewerQuery, SignOutMutation, SwitchOrganizationMutation } from './operations';
import type { ViewerQuery as ViewerData } from './gql/graphql';
import { describeError, isCombinedError, problemsOf } from './errors';
import { navigate, useRoute } from './router';
import { roleLabel } from './format';
import { SignIn } from './screens/SignIn';
import { Projects } from './screens/Projects';
import { ProjectScreen } from './screens/Project';
import { SiteScreen } from './screens/Site';
import { JobScreen } from './screens/Job';
import { Admin } from './screens/Admin';
import { BasemapProvider } from './screens/basemap';

export function App({ config }: { config: ConsoleConfig }) {
  const [token, setToken] = useState<string | null>(() => readToken(window.localStorage));
  const [viewer, setViewer] = useState<ViewerData | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const api = useMemo(() => createApiClient(config, token), [config, token]);
  useEffect(() => () => api.dispose(), [api]);

  useEffect(() => {
    if (token === null) return;
    let current = true;
    execute(api.urql, ViewerQuery, {}, 'query').then(
      (data) => { if (current) setViewer(data); },
      (error: unknown) => {
        if (!current) return;
        const refused = isCombinedError(error) && problemsOf(error).some((p) => p.code === 'UNAUTHENTICATED');
        if (refused) {
          writeToken(window.localStorage, null);
          setToken(null);
          setProblem('Your session ended or the key was refused: sign in again.');
        } else {
          setProblem(describeError(error));
        }
      },
    );
    return () => { current = false; };
  }, [api, token]);

  const signedIn = useCallback((newToken: string) => {
    writeToken(window.localStorage, newToken);
    setProblem(null);
    setViewer(null);
    setToken(newToken);
  }, []);

  const signOut = useCallback(async () => {
    // A session is ended on the server too; an API key simply stops being used here.
    if (viewer && !viewer.viewer.apiKey) {
      try { await execute(api.urql, SignOutMutation, {}, 'mutation'); } catch { /* the token is dropped anyway */ }
    }
    writeToken(window.localStorage, null);
    setViewer(null);
    setToken(null);
    navigate({ screen: 'projects' });
  }, [api, viewer]);

  const switchOrganization = useCallback(async (slug: string) => {
    const data = await execute(api.urql, SwitchOrganizationMutation, { organization: slug }, 'mutation');
    // What was on screen belongs to the organization just left.
    navigate({ screen: 'projects' });
    signedIn(data.switchOrganization.token);
  }, [api, signedIn]);

  if (token === null) return <SignIn config={config} onSignedIn={signedIn} notice={problem} />;
  if (viewer === null) {
    return <main className="centred"><p role="status">{problem ?? 'Connecting to the API…'}</p></main>;
  }
  return (
    <ApiContext.Provider value={{ config, client: api.urql, viewer, signOut, switchOrganization }}>
      <BasemapProvider><Shell /></BasemapProvider>
    </ApiContext.Provider>
  );
}

function Shell() {
  const route = useRoute();
  return (
    <>
      <Header />
      <main id="content">
        {route.screen === 'projects' && <Projects />}
        {route.screen === 'project' && <ProjectScreen key={route.projectId} projectId={route.projectId} />}
        {route.screen === 'site' && <SiteScreen key={route.siteId} siteId={route.siteId} />}
        {route.screen === 'job' && <JobScreen key={route.jobId} jobId={route.jobId} />}
        {route.screen === 'admin' && <Admin />}
        {route.screen === 'notFound' && <><h1>Not found</h1><p>Nothing lives at {route.path}.</p></>}
      </main>
    </>
  );
}

function Header() {
  const { viewer, signOut, switchOrganization } = useApi();
  const [problem, setProblem] = useState<string | null>(null);
  const memberships = viewer.viewer.memberships;
  const organization = memberships.find((m) => m.organizationId === viewer.viewer.organizationId);
  // A key belongs to one organization; a person in several can move between them.
  const canSwitch = !viewer.viewer.apiKey && memberships.length > 1 && organization !== undefined;
  return (
    <header className="top">
      <nav aria-label="Main">
        <a href="/" onClick={(event) => { event.preventDefault(); navigate({ screen: 'projects' }); }} className="brand">Entmoot</a>
        <a href="/" onClick={(event) => { event.preventDefault(); navigate({ screen: 'projects' }); }}>Projects</a>
        {viewer.viewer.role === 'ADMIN' && (
          <a href="/admin" onClick={(event) => { event.preventDefault(); navigate({ screen: 'admin' }); }}>Administration</a>
        )}
      </nav>
      <div className="who" data-testid="who-am-i">
        <span>{viewer.viewer.user ? viewer.viewer.user.displayName || viewer.viewer.user.email : 'API key'}</span>
        {' · '}
        {canSwitch ? (
          <select aria-label="Organization" value={organization.organizationSlug}
            onChange={(event) => {
              setProblem(null);
              switchOrganization(event.target.value).catch((error: unknown) => setProblem(describeError(error)));
            }}>
            {memberships.map((m) => (
              <option key={m.organizationId} value={m.organizationSlug}>{m.organizationName} ({roleLabel(m.role)})</option>
            ))}
          </select>
        ) : (
          <span>{organization ? organization.organizationName : 'organization'} ({roleLabel(viewer.viewer.role)})</span>
        )}
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </div>
      <ErrorBanner message={problem} />
    </header>
  );
}
