// A job's progress through the legacy `subscriptions-transport-ws` client (the
// `graphql-ws` subprotocol, still used by older Apollo frontends): authenticated in
// the connection_init payload, subscribed to jobProgress(jobId) until it completes,
// and the last event must be `succeeded`.

import transport from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import {
  JOB_PROGRESS, check, checkProgressSequence, createRuralDemoSite, describeEvents,
  runWithDeadline, serverFromEnvironment, submitThreeBuildings,
} from './common.mjs';

const { SubscriptionClient } = transport;
const server = serverFromEnvironment();

runWithDeadline('subscriptions-transport-ws jobProgress', 90, async () => {
  const siteId = await createRuralDemoSite(server, 'subscriptions-transport-ws client');
  let client;
  // Connect (and be acknowledged) first, so that the subscription starts right after
  // the job is created.
  await new Promise((resolve, reject) => {
    client = new SubscriptionClient(
      server.websocketUrl,
      {
        reconnect: false,
        lazy: false,
        connectionParams: { Authorization: `Bearer ${server.apiKey}` },
        connectionCallback: (error) => (error
          ? reject(new Error(`connection refused: ${JSON.stringify(error)}`))
          : resolve()),
      },
      WebSocket,
    );
    client.onError((event) => reject(new Error(`websocket error: ${event.message ?? event}`)));
  });
  try {
    const jobId = await submitThreeBuildings(server, siteId);
    const events = await new Promise((resolve, reject) => {
      const received = [];
      client.request({ query: JOB_PROGRESS, variables: { jobId } }).subscribe({
        next: (result) => {
          if (result.errors) {
            reject(new Error(`jobProgress answered errors: ${JSON.stringify(result.errors)}`));
            return;
          }
          received.push(result.data.jobProgress);
        },
        error: (error) => reject(new Error(`subscription failed: ${JSON.stringify(error)}`)),
        complete: () => resolve(received),
      });
    });
    console.log(`${events.length} events for job ${jobId}:\n${describeEvents(events)}`);
    check(events.length > 0, 'the subscription completed without any event');
    checkProgressSequence(jobId, events);
  } finally {
    client.close();
  }
});
