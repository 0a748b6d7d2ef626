// How smoothly the console draws a large layout and a long project list, in Debian's
// chromium (playwright-core) against a running entmoot. A measurement, not a test: it
// prints figures for BENCHMARKS.md and fails only when the page does not get there.
//
// It makes, through the API: 100 projects; a 1.2 km square site with a 400-building
// program (20 × 30 m, greedy) and the rural demo with three; then, for each layout,
// opens the job's results page and records
//   - the time from navigation until every placed asset is drawn on the map and the
//     labels are placed;
//   - the frame intervals (requestAnimationFrame) while the map pans and zooms for 4 s,
//     labels on: median, 95th percentile, longest, and frames over 50 ms ("stutter"),
//     and the time the label placement itself takes per frame.
// And the time until the project list shows the 100 projects.
//
// Environment: ENTMOOT_URL, ENTMOOT_API_KEY (an admin key), CHROMIUM (default
// /usr/bin/chromium). Usage: see BENCHMARKS.md, "The console with 400 assets".
import { chromium } from 'playwright-core';

const base = (process.env.ENTMOOT_URL ?? '').replace(/\/+$/, '');
const apiKey = process.env.ENTMOOT_API_KEY ?? '';
if (!base || !apiKey) { console.error('ENTMOOT_URL and ENTMOOT_API_KEY are required'); process.exit(2); }
const WAIT = { timeout: 300_000 };

async function graphql(query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A square of `sideMetres` with its south-west corner at (lon, lat). */
function square(lon, lat, sideMetres) {
  const dLat = sideMetres / 111_000;
  const dLon = sideMetres / (111_000 * Math.cos((lat * Math.PI) / 180));
  return { type: 'Polygon', coordinates: [[[lon, lat], [lon + dLon, lat], [lon + dLon, lat + dLat], [lon, lat + dLat], [lon, lat]]] };
}

async function solvedJob(projectId, name, boundary, assets) {
  const site = await graphql('mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }',
    { input: { projectId, name, boundary } });
  const program = { units: 'm', setback: 10, min_spacing: 5, max_coverage: 1, assets };
  const job = await graphql('mutation($input: CreateJobInput!) { createJob(input: $input) { id } }',
    { input: { siteId: site.createSite.id, program, strategy: 'greedy', timeLimitSeconds: 120 } });
  const id = job.createJob.id;
  for (;;) {
    const state = await graphql('query($id: ID!) { job(id: $id) { status error layouts { placedCount requestedCount } } }', { id });
    if (state.job.status === 'SUCCEEDED') return { id, placed: state.job.layouts[0].placedCount, requested: state.job.layouts[0].requestedCount };
    if (state.job.status === 'FAILED' || state.job.status === 'CANCELLED') throw new Error(`${name}: ${state.job.status} ${state.job.error}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function summary(intervals) {
  const sorted = [...intervals].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    frames: sorted.length,
    medianMs: Number(at(0.5).toFixed(1)),
    p95Ms: Number(at(0.95).toFixed(1)),
    longestMs: Number(sorted.at(-1).toFixed(1)),
    over50Ms: sorted.filter((ms) => ms > 50).length,
  };
}

async function measureLayout(page, jobId, placed) {
  const started = Date.now();
  await page.goto(`${base}/jobs/${jobId}`);
  await page.waitForFunction((placed) => {
    const map = window.__entmoot?.maps?.results;
    if (!map || !map.loaded()) return false;
    const drawn = new Set(map.queryRenderedFeatures({ layers: ['layout-assets'] }).map((f) => f.properties.asset_id));
    const labels = document.querySelector('[data-testid="results-labels"]')?.dataset.labelsOffered;
    return drawn.size >= placed && Number(labels ?? 0) >= placed;
  }, placed, WAIT);
  const firstDrawMs = Date.now() - started;
  const { intervals, labelMs } = await page.evaluate(async () => {
    const map = window.__entmoot.maps.results;
    performance.clearMeasures('entmoot-labels');
    const centre = map.getCenter();
    const times = [];
    let running = true;
    const tick = (time) => { times.push(time); if (running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const steps = [
      { center: [centre.lng + 0.002, centre.lat], zoom: map.getZoom() },
      { center: [centre.lng + 0.002, centre.lat + 0.002], zoom: map.getZoom() + 1.5 },
      { center: [centre.lng - 0.002, centre.lat], zoom: map.getZoom() + 0.5 },
      { center: [centre.lng, centre.lat], zoom: map.getZoom() },
    ];
    for (const step of steps) {
      map.easeTo({ ...step, duration: 1000 });
      await new Promise((resolve) => map.once('moveend', resolve));
    }
    running = false;
    const labelMs = performance.getEntriesByName('entmoot-labels').map((entry) => entry.duration);
    return { intervals: times.slice(1).map((t, i) => t - times[i]), labelMs };
  });
  const sortedLabels = [...labelMs].sort((a, b) => a - b);
  const labelPlacement = {
    placements: sortedLabels.length,
    medianMs: Number((sortedLabels[Math.floor(sortedLabels.length / 2)] ?? 0).toFixed(2)),
    longestMs: Number((sortedLabels.at(-1) ?? 0).toFixed(2)),
  };
  const labelsShown = await page.evaluate(() => Number(document.querySelector('[data-testid="results-labels"]')?.dataset.labelsShown ?? 0));
  return { firstDrawMs, labelsShown, ...summary(intervals), labelPlacement };
}

async function main() {
  const created = [];
  for (let i = 0; i < 100; i += 1) {
    const project = await graphql('mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }',
      { input: { name: `Render bench ${String(i).padStart(3, '0')} ${Date.now()}`, description: 'render benchmark' } });
    created.push(project.createProject.id);
  }
  const projectId = created[0];
  const large = await solvedJob(projectId, 'Large square', square(-103.45, 39.30, 1200),
    [{ name: 'Unit', type: 'building', width: 20, length: 30, quantity: 400 }]);
  const small = await solvedJob(projectId, 'Rural demo', square(-103.402, 39.35, 430),
    [{ name: 'Warehouse', type: 'building', width: 18.3, length: 24.4, quantity: 3 }]);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addInitScript((token) => localStorage.setItem('entmoot.token', token), apiKey);
    const page = await context.newPage();
    const listStarted = Date.now();
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelectorAll('ul.cards li.card').length >= 100, null, WAIT);
    const projectListMs = Date.now() - listStarted;
    const results = {
      projectListMs,
      large: { placed: large.placed, requested: large.requested, ...(await measureLayout(page, large.id, large.placed)) },
      small: { placed: small.placed, requested: small.requested, ...(await measureLayout(page, small.id, small.placed)) },
    };
    console.log(JSON.stringify(results));
  } finally {
    await browser.close();
    for (const id of created) await graphql('mutation($id: ID!) { deleteProject(id: $id) }', { id }).catch(() => {});
  }
}

main().then(() => process.exit(0), (error) => { console.error(`FAILED: ${error?.stack ?? error}`); process.exit(1); });
