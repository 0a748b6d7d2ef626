// The API used the way a frontend uses it: one Apollo Client whose queries and
// mutations (uploads included) go over apollo-upload-client's HTTP link and whose
// subscriptions go over a GraphQLWsLink. Upload the rural demo KML, make a site of
// it, run a job and follow its progress to the end, read the layout, export it as
// KML and download the file from the link the export returns.

import { readFileSync } from 'node:fs';
import { ApolloClient, ApolloLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  JOB_PROGRESS, check, checkProgressSequence, describeEvents, fixturePath,
  runWithDeadline, serverFromEnvironment, threeBuildingsProgram,
} from './common.mjs';

const server = serverFromEnvironment();

const CREATE_PROJECT = gql`mutation CreateProject($name: String!) {
  createProject(input: {name: $name}) { id name }
}`;
const UPLOAD_PARCEL = gql`mutation UploadParcel($projectId: ID!, $file: Upload!) {
  uploadParcel(projectId: $projectId, file: $file) {
    file { id filename sizeBytes }
    format boundary boundaryReason
  }
}`;
const CREATE_SITE = gql`mutation CreateSite($input: CreateSiteInput!) {
  createSite(input: $input) { id name }
}`;
const CREATE_JOB = gql`mutation CreateJob($input: CreateJobInput!) {
  createJob(input: $input) { id status }
}`;
const JOB_LAYOUTS = gql`query JobLayouts($id: ID!) {
  job(id: $id) { id status layouts { id rank requestedCount placedCount geojson } }
}`;
const EXPORT_LAYOUT = gql`mutation ExportLayout($layoutId: ID!) {
  exportLayout(layoutId: $layoutId, format: KML) { url expiresAt file { id filename contentType } }
}`;

runWithDeadline('Apollo Client', 120, async () => {
  let acknowledged;
  const connected = new Promise((resolve) => { acknowledged = resolve; });
  const websocket = createClient({
    url: server.websocketUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${server.apiKey}` },
    // Connected up front, as a frontend that shows live jobs would be: the job below
    // takes a fraction of a second, and a lazy connection would open after its end.
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => acknowledged() },
  });
  const http = new UploadHttpLink({
    uri: server.graphqlUrl,
    headers: {
      Authorization: `Bearer ${server.apiKey}`,
      // The server refuses multipart requests without it (CSRF: a browser must
      // preflight a request that carries it); Apollo's documented header.
      'Apollo-Require-Preflight': 'true',
    },
  });
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.split(
      (operation) => operation.operationType === 'subscription',
      new GraphQLWsLink(websocket),
      http,
    ),
  });
  try {
    await connected;
    const { data: { createProject: project } } = await client.mutate({
      mutation: CREATE_PROJECT,
      variables: { name: 'Apollo frontend' },
    });

    const kml = readFileSync(fixturePath('rural_demo.kml'));
    const file = new File([kml], 'rural_demo.kml', { type: 'application/vnd.google-earth.kml+xml' });
    const { data: { uploadParcel: parcel } } = await client.mutate({
      mutation: UPLOAD_PARCEL,
      variables: { projectId: project.id, file },
    });
    check(parcel.format === 'kml', `the upload was read as ${parcel.format}, not kml`);
    check(parcel.file.sizeBytes === kml.length, `${parcel.file.sizeBytes} bytes stored, ${kml.length} sent`);
    check(
      ['Polygon', 'MultiPolygon'].includes(parcel.boundary?.type),
      `the upload gave no polygon boundary: ${JSON.stringify(parcel.boundary)}`,
    );
    console.log(`uploaded ${parcel.file.filename}: ${parcel.boundaryReason}`);

    const { data: { createSite: site } } = await client.mutate({
      mutation: CREATE_SITE,
      variables: { input: { projectId: project.id, name: 'From upload', boundary: parcel.boundary } },
    });
    const { data: { createJob: job } } = await client.mutate({
      mutation: CREATE_JOB,
      variables: { input: { siteId: site.id, program: threeBuildingsProgram() } },
    });

    const events = await new Promise((resolve, reject) => {
      const received = [];
      client.subscribe({ query: gql(JOB_PROGRESS), variables: { jobId: job.id } }).subscribe({
        next: (result) => {
          if (result.error) reject(result.error);
          else received.push(result.data.jobProgress);
        },
        error: reject,
        complete: () => resolve(received),
      });
    });
    console.log(`${events.length} events for job ${job.id}:\n${describeEvents(events)}`);
    checkProgressSequence(job.id, events);

    const { data: { job: finished } } = await client.query({
      query: JOB_LAYOUTS,
      variables: { id: job.id },
      fetchPolicy: 'network-only',
    });
    check(finished.status === 'SUCCEEDED', `the job reads as ${finished.status} after its succeeded event`);
    const layout = finished.layouts.find((candidate) => candidate.rank === 0);
    check(layout, `the succeeded job has no layout of rank 0: ${JSON.stringify(finished.layouts)}`);
    check(layout.requestedCount === 3, `${layout.requestedCount} assets requested, not 3`);
    check(layout.placedCount === 3, `${layout.placedCount} of 3 buildings placed`);
    check(
      layout.geojson?.type === 'FeatureCollection' && layout.geojson.features.length > 0,
      'the layout GeoJSON is not a non-empty FeatureCollection',
    );

    const { data: { exportLayout: download } } = await client.mutate({
      mutation: EXPORT_LAYOUT,
      variables: { layoutId: layout.id },
    });
    check(download.file.filename.endsWith('.kml'), `the export is named ${download.file.filename}`);
    // A relative URL is a signed link on this API; a presigned object-store URL is absolute.
    const url = new URL(download.url, `${server.base}/`);
    // The signed link is all a browser needs: no bearer token on the download.
    const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    check(response.ok, `downloading ${url} answered HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    check(bytes.length > 0, 'the downloaded export is empty');
    const text = bytes.toString('utf8');
    check(/<kml[\s>]/.test(text), `the download is not KML: ${text.slice(0, 200)}`);
    const placemarks = (text.match(/<Placemark[\s>]/g) ?? []).length;
    check(placemarks >= 3, `the KML has ${placemarks} placemarks, fewer than the 3 buildings`);
    console.log(
      `downloaded ${download.file.filename} (${response.headers.get('content-type')}, `
      + `${bytes.length} bytes, ${placemarks} placemarks)`,
    );
  } finally {
    client.stop();
    await websocket.dispose();
  }
});
