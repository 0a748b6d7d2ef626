// What every client script shares: where the server is, a deadline so that no script
// can hang the Rust test that runs it, and the setup a job needs over plain HTTP.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Prints `message` (and the cause) and exits with 1. */
export function fail(message, cause) {
  console.error(`FAILED: ${message}`);
  if (cause !== undefined) console.error(cause instanceof Error ? cause.stack : cause);
  // fetch hides the reason (refused, reset, timed out) in `cause`.
  if (cause?.cause !== undefined) console.error('caused by:', cause.cause);
  process.exit(1);
}

/** `ENTMOOT_URL` (no trailing slash) and `ENTMOOT_API_KEY`, both required. */
export function serverFromEnvironment() {
  const url = process.env.ENTMOOT_URL;
  const apiKey = process.env.ENTMOOT_API_KEY;
  if (!url) fail('ENTMOOT_URL is not set (the base URL of a running entmoot server)');
  if (!apiKey) fail('ENTMOOT_API_KEY is not set (a bearer token for that server)');
  const base = url.replace(/\/+$/, '');
  return {
    base,
    apiKey,
    graphqlUrl: `${base}/graphql`,
    websocketUrl: `${base.replace(/^http/, 'ws')}/graphql`,
  };
}

/**
 * Runs `main`, then exits 0; exits 1 on any error or when `seconds` pass first
 * (ENTMOOT_NODE_TIMEOUT_SECONDS overrides). Exiting explicitly also ends sockets a
 * client library leaves open.
 */
export function runWithDeadline(name, seconds, main) {
  const limit = Number(process.env.ENTMOOT_NODE_TIMEOUT_SECONDS ?? seconds);
  const timer = setTimeout(
    () => fail(`${name} did not finish within ${limit} s`),
    limit * 1000,
  );
  process.on('unhandledRejection', (error) => fail(`${name}: unhandled rejection`, error));
  main().then(
    () => {
      clearTimeout(timer);
      console.log(`${name}: done`);
      process.exit(0);
    },
    (error) => fail(`${name}: ${error?.message ?? error}`, error),
  );
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A GraphQL POST with the bearer token; throws on HTTP or GraphQL errors. */
export async function graphql(server, query, variables = {}) {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
      Authorization: `Bearer ${server.apiKey}`,
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 500)}`);
  }
  if (!response.ok || body.errors) {
    throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.data;
}

const repository = fileURLToPath(new URL('../../', import.meta.url));

export function fixturePath(relative) {
  return `${repository}tests/fixtures/${relative}`;
}

/** tests/fixtures/programs/three_buildings_ft.json: three 60×80 ft buildings. */
export function threeBuildingsProgram() {
  return JSON.parse(readFileSync(fixturePath('programs/three_buildings_ft.json'), 'utf8'));
}

/** The rural demo parcel (tests/fixtures/rural_demo.kml), as the harness has it. */
export const RURAL_DEMO_BOUNDARY = {
  type: 'Polygon',
  coordinates: [[
    [-103.402, 39.35], [-103.397, 39.35], [-103.397, 39.354],
    [-103.402, 39.354], [-103.402, 39.35],
  ]],
};

/** A project and a site on the rural demo parcel; returns the site id. */
export async function createRuralDemoSite(server, name) {
  const { createProject } = await graphql(
    server,
    'mutation($name: String!) { createProject(input: {name: $name}) { id } }',
    { name },
  );
  const { createSite } = await graphql(
    server,
    'mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }',
    { input: { projectId: createProject.id, name, boundary: RURAL_DEMO_BOUNDARY } },
  );
  return createSite.id;
}

/** Submits the three-building program for `siteId`; returns the job id. */
export async function submitThreeBuildings(server, siteId) {
  const { createJob } = await graphql(
    server,
    'mutation($input: CreateJobInput!) { createJob(input: $input) { id status } }',
    { input: { siteId, program: threeBuildingsProgram() } },
  );
  return createJob.id;
}

export const JOB_PROGRESS = `subscription($jobId: ID!) {
  jobProgress(jobId: $jobId) { jobId status stage percent elapsedSeconds message at }
}`;

const STATUS_ORDER = { QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELLED: 2 };

/** An RFC 3339 time as nanoseconds since the epoch (Date.parse stops at milliseconds). */
function instant(at) {
  const fraction = /\.(\d+)/.exec(at)?.[1] ?? '';
  const seconds = Date.parse(at.replace(/\.\d+/, ''));
  if (Number.isNaN(seconds)) throw new Error(`\`at\` is not an RFC 3339 time: ${at}`);
  return BigInt(seconds) * 1_000_000n + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
}

/**
 * Checks a jobProgress event sequence: every event is for `jobId`, statuses never go
 * back (queued, running, then one terminal status) and nothing follows the terminal
 * one, which must be `succeeded` at 100 %.
 *
 * Percent and time never decrease, from the first event (the job as stored, read
 * after the server started listening) on: the server drops a live event older than
 * what it has already sent.
 */
export function checkProgressSequence(jobId, events) {
  check(events.length > 0, 'no jobProgress event arrived');
  events.forEach((event, index) => {
    check(event.jobId === jobId, `event ${index} is for job ${event.jobId}, not ${jobId}`);
    check(event.status in STATUS_ORDER, `event ${index} has an unknown status ${event.status}`);
    instant(event.at);
    if (index === 0) return;
    const before = events[index - 1];
    check(
      STATUS_ORDER[event.status] >= STATUS_ORDER[before.status],
      `status went back from ${before.status} to ${event.status} at event ${index}`,
    );
    check(
      STATUS_ORDER[before.status] < 2,
      `event ${index} (${event.status}) came after the terminal ${before.status}`,
    );
    check(
      event.percent >= before.percent,
      `percent went back from ${before.percent} to ${event.percent} at event ${index}`,
    );
    check(
      instant(event.at) >= instant(before.at),
      `time went back from ${before.at} to ${event.at} at event ${index}`,
    );
  });
  const last = events[events.length - 1];
  check(
    last.status === 'SUCCEEDED',
    `the last event is ${JSON.stringify(last)}, not status succeeded`,
  );
  check(last.percent === 100, `the succeeded event says ${last.percent} %, not 100`);
}

export function describeEvents(events) {
  return events
    .map((event) => `  ${event.at} ${event.status} ${event.stage ?? '-'} ${event.percent}%`)
    .join('\n');
}
