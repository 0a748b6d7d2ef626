// A job's progress through the `graphql-ws` client (the `graphql-transport-ws`
// subprotocol): authenticated in the connection_init payload, subscribed to
// jobProgress(jobId) from submission to the end, which must be `succeeded`.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  JOB_PROGRESS, check, checkProgressSequence, createRuralDemoSite, describeEvents,
  runWithDeadline, serverFromEnvironment, submitThreeBuildings,
} from './common.mjs';

const server = serverFromEnvironment();

runWithDeadline('graphql-ws jobProgress', 90, async () => {
  const siteId = await createRuralDemoSite(server, 'graphql-ws client');
  let acknowledged;
  const connected = new Promise((resolve) => { acknowledged = resolve; });
  const client = createClient({
    url: server.websocketUrl,
    webSocketImpl: WebSocket,
    // Browsers cannot set headers on a websocket, so the token rides in connection_init.
    connectionParams: { Authorization: `Bearer ${server.apiKey}` },
    // Connect now, so that the subscription starts right after the job is created.
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => acknowledged() },
  });
  try {
    await connected;
    const jobId = await submitThreeBuildings(server, siteId);
    const events = [];
    let lastEventAt = 0;
    // The server completes the subscription after the terminal event; iterate() ends then.
    for await (const result of client.iterate({ query: JOB_PROGRESS, variables: { jobId } })) {
      check(!result.errors, `jobProgress answered errors: ${JSON.stringify(result.errors)}`);
      events.push(result.data.jobProgress);
      lastEventAt = Date.now();
    }
    // Right after it, not at the next message the server happens to get (its database
    // reconciliation comes every 10 s): a client waiting for `complete` is not kept
    // waiting.
    const completedAfter = Date.now() - lastEventAt;
    check(completedAfter < 5_000, `the subscription completed ${completedAfter} ms after its last event`);
    console.log(`${events.length} events for job ${jobId}:\n${describeEvents(events)}`);
    checkProgressSequence(jobId, events);
  } finally {
    await client.dispose();
  }
});
