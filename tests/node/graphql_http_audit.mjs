// The GraphQL-over-HTTP conformance audit of the `graphql-http` package, every audit,
// against /graphql. Exits 0 only when every audit is `ok`: a `warn` or `notice` (a
// SHOULD or MAY not met) fails as surely as an `error`.
//
// The last line, `audits ok: N of M`, is read by tests/tests/node_clients.rs.

import { serverAudits } from 'graphql-http';
import { fail, runWithDeadline, serverFromEnvironment } from './common.mjs';

const server = serverFromEnvironment();

// Every request of ours needs the bearer token; the audits know nothing of it, so it
// is added to whatever headers each audit sends (and never replaces one it sets).
async function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('Authorization', `Bearer ${server.apiKey}`);
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(30_000) });
}

async function bodyOf(response) {
  try {
    return (await response.clone().text()).slice(0, 500);
  } catch (error) {
    return `(body unreadable: ${error.message})`;
  }
}

runWithDeadline('graphql-http audit', 120, async () => {
  const audits = serverAudits({ url: server.graphqlUrl, fetchFn: fetchWithKey });
  if (audits.length === 0) fail('graphql-http returned no audits');
  let ok = 0;
  for (const audit of audits) {
    const result = await audit.fn();
    if (result.status === 'ok') {
      ok += 1;
      console.log(`ok     ${result.id} ${result.name}`);
    } else {
      const response = result.response;
      const detail = response
        ? ` [HTTP ${response.status} ${response.headers.get('content-type')}: ${await bodyOf(response)}]`
        : '';
      console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}: ${result.reason}${detail}`);
    }
  }
  console.log(`audits ok: ${ok} of ${audits.length}`);
  if (ok !== audits.length) {
    throw new Error(`${audits.length - ok} of ${audits.length} audits are not ok (see above)`);
  }
});
