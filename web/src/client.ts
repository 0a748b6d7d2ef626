// The GraphQL client: urql over HTTP (multipart uploads included, with the preflight
// header the API asks for) and graphql-ws for subscriptions, both carrying the token.
import { Client, fetchExchange, subscriptionExchange, CombinedError } from '@urql/core';
import type { AnyVariables, TypedDocumentNode } from '@urql/core';
import { createClient as createWebsocketClient } from 'graphql-ws';
import type { Client as WebsocketClient } from 'graphql-ws';
import type { ConsoleConfig } from './config';

export interface ApiClient {
  urql: Client;
  websocket: WebsocketClient;
  dispose(): void;
}

/** Headers for every HTTP request: the token, and the CSRF preflight header uploads need. */
export function requestHeaders(token: string | null): Record<string, string> {
  const headers: Record<string, string> = { 'Apollo-Require-Preflight': 'true' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export function createApiClient(config: ConsoleConfig, token: string | null): ApiClient {
  const websocket = createWebsocketClient({
    url: config.websocketUrl,
    // Browsers cannot set headers on a websocket: the token goes in connection_init.
    connectionParams: () => (token === null ? {} : { Authorization: `Bearer ${token}` }),
    lazy: true,
    retryAttempts: 5,
  });
  const urql = new Client({
    url: config.graphqlUrl,
    // No document cache: every screen reads what the API says now.
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = websocket.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    fetchOptions: () => ({ headers: requestHeaders(token) }),
    preferGetMethod: false,
    requestPolicy: 'network-only',
  });
  return {
    urql,
    websocket,
    dispose: () => void websocket.dispose(),
  };
}

/** Runs a query or mutation and returns its data, or throws its CombinedError. */
export async function execute<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  kind: 'query' | 'mutation',
): Promise<Data> {
  const result = kind === 'query'
    ? await client.query(document, variables, { requestPolicy: 'network-only' }).toPromise()
    : await client.mutation(document, variables).toPromise();
  if (result.error) throw result.error;
  if (result.data === undefined) throw new CombinedError({ graphQLErrors: [{ message: 'The API returned no data' }] });
  return result.data;
}
