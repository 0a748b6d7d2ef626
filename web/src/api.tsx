// The signed-in context every screen reads: the configuration, the API client for the
// current token, who the caller is, and ways to sign out and to switch organization.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { AnyVariables, Client, TypedDocumentNode } from '@urql/core';
import type { ConsoleConfig } from './config';
import { execute } from './client';
import { describeError } from './errors';
import type { ViewerQuery as ViewerQueryType } from './gql/graphql';

export interface ApiContextValue {
  config: ConsoleConfig;
  client: Client;
  viewer: ViewerQueryType;
  signOut(): Promise<void>;
  /** Moves a signed-in person's session to another of their organizations (a slug). */
  switchOrganization(slug: string): Promise<void>;
}

export const ApiContext = createContext<ApiContextValue | null>(null);

export function useApi(): ApiContextValue {
  const value = useContext(ApiContext);
  if (value === null) throw new Error('useApi outside a signed-in console');
  return value;
}

export interface Loaded<Data> {
  data: Data | null;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/** Runs a query when its variables change; `reload` asks again. */
export function useLoad<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Loaded<Data> {
  const { client } = useApi();
  const [state, setState] = useState<{ data: Data | null; error: string | null; loading: boolean }>(
    { data: null, error: null, loading: true },
  );
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(variables);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    execute(client, document, JSON.parse(key) as Variables, 'query').then(
      (data) => { if (current) setState({ data, error: null, loading: false }); },
      (error: unknown) => { if (current) setState({ data: null, error: describeError(error), loading: false }); },
    );
    return () => { current = false; };
  }, [client, document, key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

export function ErrorBanner({ message }: { message: string | null }): ReactNode {
  if (message === null) return null;
  return <p className="error" role="alert">{message}</p>;
}
