// GraphiQL, bundled and served by the entmoot binary (no CDN). Queries and mutations go
// over HTTP with the headers of the Headers tab; subscriptions over graphql-ws with
// the same Authorization header in connection_init.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import type { Fetcher, FetcherOpts, FetcherParams } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import 'graphiql/graphiql.css';

const httpUrl = new URL('/graphql', window.location.href).href;
const websocketUrl = httpUrl.replace(/^http/, 'ws');
const httpFetcher = createGraphiQLFetcher({ url: httpUrl });

function isSubscription(params: FetcherParams): boolean {
  return /^\s*subscription\b/m.test(params.query) || /\bsubscription\s+\w*\s*[({]/.test(params.query);
}

const fetcher: Fetcher = (params: FetcherParams, options?: FetcherOpts) => {
  if (!isSubscription(params)) return httpFetcher(params, options);
  const authorization = options?.headers?.Authorization ?? options?.headers?.authorization;
  const client = createClient({
    url: websocketUrl,
    connectionParams: typeof authorization === 'string' ? { Authorization: authorization } : {},
    lazy: true,
  });
  return {
    [Symbol.asyncIterator]() {
      return client.iterate({ query: params.query, variables: params.variables, operationName: params.operationName ?? undefined });
    },
  } as AsyncIterable<never>;
};

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    <GraphiQL fetcher={fetcher} defaultHeaders={'{\n  "Authorization": "Bearer paste-your-API-key-or-session-token"\n}'} isHeadersEditorEnabled shouldPersistHeaders={false} />,
  );
}
