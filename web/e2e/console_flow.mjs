// The console's whole flow in Debian's chromium (playwright-core, never a downloaded
// browser) against a running entmoot: sign in with a key and sign out, sign in with a
// password, switch organization and back, create a project, upload a DXF (asked for its
// coordinate system) and the rural demo, create the site, draw an exclusion and add an
// entrance on the map, upload a DEM and see its slope classes, run the program with live
// progress to the end, compare the alternatives with labelled assets, export and
// download a GeoJSON and a PDF, move a building into a violation and see it flagged,
// undo, take a building out and place it back, make a valid move, save, re-optimize,
// and sign out. Every wait is for a condition on the
// page or on the map's rendered features, never a sleep. Each screen is checked with
// axe-core (no serious or critical violation) and photographed into $ENTMOOT_SCREENSHOTS.
//
// Environment: ENTMOOT_URL, ENTMOOT_API_KEY, ENTMOOT_EMAIL, ENTMOOT_PASSWORD,
// ENTMOOT_REVIEWER_EMAIL (a viewer the flow promotes and removes), ENTMOOT_SCREENSHOTS
// (a folder), ENTMOOT_DEM (a GeoTIFF over the rural demo: flat west, a gentle climb
// east), CHROMIUM (default /usr/bin/chromium).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FIXTURE = fileURLToPath(new URL('../../tests/fixtures/rural_demo.kml', import.meta.url));

function required(name) {
  const value = process.env[name];
  if (!value) { console.error(`FAILED: ${name} is not set`); process.exit(1); }
  return value;
}

const base = required('ENTMOOT_URL').replace(/\/+$/, '');
const apiKey = required('ENTMOOT_API_KEY');
const email = required('ENTMOOT_EMAIL');
const password = required('ENTMOOT_PASSWORD');
const reviewer = required('ENTMOOT_REVIEWER_EMAIL');
const screenshots = required('ENTMOOT_SCREENSHOTS');
const demPath = required('ENTMOOT_DEM');
const downloads = join(screenshots, 'downloads');
mkdirSync(downloads, { recursive: true });
const WAIT = { timeout: 60_000 };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const cspViolations = [];
const pageErrors = [];

async function screen(page, name) {
  const results = await page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const outcome = await window.axe.run(document, { resultTypes: ['violations'] });
    return outcome.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, AXE_SOURCE);
  const serious = results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  console.log(`screen ${name}: ${results.length} axe findings, ${serious.length} serious or critical`);
  check(serious.length === 0, `axe on ${name}: ${JSON.stringify(serious, null, 1)}`);
}

/** Distinct values of `property` among the features MapLibre rendered in `layers`. */
async function rendered(page, mapName, layers, property) {
  return page.evaluate(({ mapName, layers, property }) => {
    const map = window.__entmoot?.maps?.[mapName];
    if (!map || !map.loaded()) return [];
    const features = map.queryRenderedFeatures({ layers });
    return [...new Set(features.map((f) => (property ? f.properties[property] : f.layer.id)))];
  }, { mapName, layers, property });
}

/** Waits until at least `minimum` distinct values are rendered and returns the values
 * seen then: asking again could catch the map mid-frame (`loaded()` false) and see none. */
async function waitForRendered(page, mapName, layers, property, minimum) {
  const handle = await page.waitForFunction(({ mapName, layers, property, minimum }) => {
    const map = window.__entmoot?.maps?.[mapName];
    if (!map || !map.loaded()) return false;
    const features = map.queryRenderedFeatures({ layers });
    const values = [...new Set(features.map((f) => (property ? f.properties[property] : f.layer.id)))];
    return values.length >= minimum ? values : false;
  }, { mapName, layers, property, minimum }, WAIT);
  return handle.jsonValue();
}

async function download(page, buttonName) {
  const [file] = await Promise.all([
    page.waitForEvent('download', WAIT),
    page.getByRole('button', { name: buttonName, exact: true }).first().click(),
  ]);
  const path = join(downloads, file.suggestedFilename());
  await file.saveAs(path);
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

/** The pixel of an asset's centre on a map. */
async function assetPixel(page, mapName, assetId) {
  return page.evaluate(({ mapName, assetId }) => {
    const map = window.__entmoot.maps[mapName];
    const feature = map.querySourceFeatures('layout').find((f) => f.properties.kind === 'asset' && f.properties.asset_id === assetId);
    if (!feature) return null;
    const ring = feature.geometry.coordinates[0].slice(0, -1);
    const centre = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
    const point = map.project(centre);
    const box = map.getCanvas().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }, { mapName, assetId });
}

/** The pixel (viewport coordinates) of a longitude/latitude on a map, with the map
 * scrolled into view first (clicking a button below it may have scrolled it away). */
async function lonLatPixel(page, mapName, position) {
  await page.locator(`[data-map-name="${mapName}"]`).scrollIntoViewIfNeeded();
  return page.evaluate(({ mapName, position }) => {
    const map = window.__entmoot.maps[mapName];
    const point = map.project(position);
    const box = map.getCanvas().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }, { mapName, position });
}

/** [minLon, minLat, maxLon, maxLat] of the parcel drawn on a map. */
async function parcelBounds(page, mapName) {
  return page.evaluate((mapName) => {
    const map = window.__entmoot.maps[mapName];
    const positions = map.querySourceFeatures('boundary').flatMap((f) => f.geometry.coordinates.flat(2));
    const lons = positions.filter((_, i) => i % 2 === 0);
    const lats = positions.filter((_, i) => i % 2 === 1);
    return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  }, mapName);
}

/** The label boxes a map shows, and whether any two overlap. */
async function mapLabels(page, mapName) {
  return page.evaluate((mapName) => {
    const boxes = [...document.querySelectorAll(`[data-testid="${mapName}-labels"] .map-label`)].map((element) => {
      const box = element.getBoundingClientRect();
      return { text: element.textContent, left: box.left, top: box.top, right: box.right, bottom: box.bottom };
    });
    let overlaps = 0;
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const [a, b] = [boxes[i], boxes[j]];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps += 1;
      }
    }
    return { texts: boxes.map((b) => b.text), overlaps };
  }, mapName);
}

/** A closed square drawn in a DXF with no coordinate system (UTM 13N metres). */
function dxfWithoutCrs() {
  const corners = [[637800, 4356000], [638100, 4356000], [638100, 4356300], [637800, 4356300]];
  const vertices = corners.map(([x, y]) => `10\n${x}\n20\n${y}\n`).join('');
  return Buffer.from(`0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\nPARCEL\n90\n4\n70\n1\n${vertices}0\nENDSEC\n0\nEOF\n`, 'latin1');
}

async function waitForCheck(page) {
  await page.waitForFunction(() => {
    const element = document.querySelector('[data-testid="edit-check"]');
    return element && element.dataset.checking === 'false';
  }, null, WAIT);
  return page.evaluate(() => {
    const element = document.querySelector('[data-testid="edit-check"]');
    return { valid: element.dataset.valid === 'true', edits: Number(element.dataset.edits), text: element.textContent };
  });
}

let currentPage = null;

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // WebGL for MapLibre on the CPU (SwiftShader), as a machine without a GPU has it.
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    currentPage = page;
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // Sign in with the API key, see who we are, sign out.
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Sign in to Entmoot' }).waitFor(WAIT);
    await screen(page, '01-sign-in');
    await page.getByRole('button', { name: 'API key' }).click();
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByTestId('who-am-i').waitFor(WAIT);
    const whoWithKey = await page.getByTestId('who-am-i').textContent();
    check(/API key/.test(whoWithKey) && /admin/.test(whoWithKey), `who am I with the key: ${whoWithKey}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Entmoot' }).waitFor(WAIT);
    check(await page.evaluate(() => localStorage.getItem('entmoot.token')) === null, 'the key stayed in localStorage after signing out');

    // Sign in with e-mail and password (a session).
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('who-am-i').waitFor(WAIT);
    const who = await page.getByTestId('who-am-i').textContent();
    check(who.includes('E2E Planner'), `who am I with a session: ${who}`);
    check((await page.evaluate(() => localStorage.getItem('entmoot.token'))).startsWith('ems_'), 'no session token stored');
    console.log(`signed in: ${who}`);

    // The planner is also a viewer of Partner Co: switch there (no password asked, no
    // administration for a viewer) and back.
    const organizationIs = (slug) => page.waitForFunction((want) => document.querySelector('select[aria-label="Organization"]')?.value === want, slug, WAIT);
    await organizationIs('local');
    await page.getByLabel('Organization').selectOption('partner');
    await organizationIs('partner');
    await page.getByRole('heading', { name: 'Projects' }).waitFor(WAIT);
    check(await page.getByRole('link', { name: 'Administration' }).count() === 0, 'a viewer of Partner Co sees Administration');
    await page.getByLabel('Organization').selectOption('local');
    await organizationIs('local');
    await page.getByRole('link', { name: 'Administration' }).waitFor(WAIT);

    // Projects: create one.
    await page.getByRole('heading', { name: 'Projects' }).waitFor(WAIT);
    const projectName = `Rural demo ${Date.now()}`;
    await page.getByLabel('Name').fill(projectName);
    await page.getByLabel('Description').first().fill('Created by the console test');
    await screen(page, '02-projects');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: projectName, level: 1 }).waitFor(WAIT);

    // A DXF declares no coordinate system: the console asks for one and reads it again.
    await page.locator('input[type=file]').setInputFiles({ name: 'parcel.dxf', mimeType: 'application/dxf', buffer: dxfWithoutCrs() });
    await page.getByRole('heading', { name: 'Which coordinate system does parcel.dxf use?' }).waitFor(WAIT);
    await page.getByLabel(/^Coordinate system/).fill('EPSG:32613');
    await page.getByRole('button', { name: 'Read the file with it' }).click();
    await page.getByTestId('upload-summary').filter({ hasText: 'dxf' }).waitFor(WAIT);
    console.log(`DXF read after asking for its CRS: ${await page.getByTestId('upload-summary').textContent()}`);

    // A new site from the rural demo KML.
    await page.locator('input[type=file]').setInputFiles(FIXTURE);
    await page.getByTestId('upload-summary').filter({ hasText: 'kml' }).waitFor(WAIT);
    await page.getByTestId('upload-summary').waitFor(WAIT);
    const summary = await page.getByTestId('upload-summary').textContent();
    check(/kml/.test(summary), `upload summary: ${summary}`);
    await waitForRendered(page, 'upload', ['boundary-fill'], null, 1);
    await screen(page, '03-upload');
    await page.getByLabel('Site name').fill('Rural demo site');
    await page.getByRole('button', { name: 'Create site' }).click();
    await page.getByRole('heading', { name: 'Rural demo site', level: 1 }).waitFor(WAIT);

    // Exclusions and entrances on the map: a zone drawn in the parcel's north-east
    // corner, an entrance clicked just inside the west edge (it goes onto the edge).
    await waitForRendered(page, 'site', ['boundary-fill', 'buildable-line'], null, 2);
    const [west, south, east, north] = await parcelBounds(page, 'site');
    const at = (fx, fy) => [west + (east - west) * fx, south + (north - south) * fy];
    await page.getByRole('button', { name: 'Edit exclusions and entrances' }).click();
    await page.getByRole('button', { name: 'Draw an exclusion' }).click();
    for (const corner of [at(0.8, 0.8), at(0.95, 0.8), at(0.95, 0.95), at(0.8, 0.95)]) {
      const pixel = await lonLatPixel(page, 'site', corner);
      await page.mouse.click(pixel.x, pixel.y);
    }
    await page.waitForSelector('[data-testid="outline-readout"][data-points="4"]', WAIT);
    await waitForRendered(page, 'site', ['draft-area'], null, 1);
    const newZone = page.getByRole('group', { name: /^New exclusion/ });
    await newZone.getByLabel('Name').fill('Drawn marsh');
    await newZone.getByLabel('Kind').selectOption('wetland');
    await screen(page, '04a-draw-exclusion');
    await page.getByRole('button', { name: 'Finish the outline' }).click();
    await page.getByRole('button', { name: 'Add an entrance' }).click();
    const entranceClick = await lonLatPixel(page, 'site', [west + (east - west) * 0.01, (south + north) / 2]);
    await page.mouse.click(entranceClick.x, entranceClick.y);
    await page.getByTestId('entrance-rows').waitFor(WAIT);
    await page.getByRole('button', { name: 'Stop adding entrances' }).click();
    // The keyboard's way: an entrance typed just inside the south edge goes onto it;
    // then it is removed again.
    await page.getByLabel('Or type an entrance (latitude, longitude)').fill(`${south + (north - south) * 0.01}, ${(west + east) / 2}`);
    await page.getByRole('button', { name: 'Add this entrance' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="entrance-rows"] li').length === 2, null, WAIT);
    const typed = await page.locator('[data-testid="entrance-rows"] li').nth(1).textContent();
    check(typed.includes(`${south.toFixed(6).replace(/0+$/, '')}`) || typed.includes(south.toFixed(4)), `the typed entrance is not on the south edge: ${typed} (south ${south})`);
    await page.getByRole('button', { name: 'Remove entrance 2' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="entrance-rows"] li').length === 1, null, WAIT);
    await page.getByRole('button', { name: 'Save the site' }).click();
    await page.getByRole('button', { name: 'Edit exclusions and entrances' }).waitFor(WAIT);
    await page.waitForFunction(() => document.querySelector('main')?.innerText.includes('· 1 exclusion') ?? document.body.innerText.includes('· 1 exclusion'), null, WAIT);
    await waitForRendered(page, 'site', ['exclusions-fill'], null, 1);
    // A source's features come once per tile that holds them: distinct positions only.
    const savedEntrance = await page.evaluate(() => [...new Set(window.__entmoot.maps.site.querySourceFeatures('entrances')
      .map((f) => JSON.stringify(f.geometry.coordinates)))].map((text) => JSON.parse(text)));
    check(savedEntrance.length === 1 && Math.abs(savedEntrance[0][0] - west) < 1e-5, `the saved entrance is not on the west edge: ${JSON.stringify(savedEntrance)} (west ${west})`);
    console.log(`site edited on the map: 1 drawn exclusion, entrance at ${savedEntrance[0].map((v) => v.toFixed(6)).join(', ')}`);

    // Terrain: a GeoTIFF DEM uploaded and linked; its slope classes listed and drawn.
    await page.getByLabel('Upload a GeoTIFF DEM').setInputFiles(demPath);
    await page.getByTestId('terrain-file').filter({ hasText: 'rural_demo_dem.tif' }).waitFor(WAIT);
    await page.getByTestId('slope-classes').waitFor(WAIT);
    const slopeText = await page.getByTestId('slope-classes').innerText();
    const slopeClasses = await waitForRendered(page, 'site', ['slope-fill'], 'class', 2);
    check(/0–5 %/.test(slopeText) && /5–10 %/.test(slopeText), `slope classes: ${slopeText}`);
    console.log(`slope classes drawn: ${slopeClasses.sort().join(', ')}; legend: ${slopeText.replaceAll('\n', '; ')}`);
    await screen(page, '04b-terrain');

    // The program: the default three warehouses; two alternatives.
    await page.getByTestId('buildable-area').waitFor(WAIT);
    await page.getByLabel('Time limit (s)').fill('30');
    await page.getByLabel('Name of asset line 1').fill('Depot');
    // A value only the API refuses: its message appears next to the field.
    await page.getByLabel('Alternatives').fill('50');
    await page.getByRole('button', { name: 'Run the optimizer' }).click();
    await page.locator('#problem-alternatives').waitFor(WAIT);
    const refusal = await page.locator('#problem-alternatives').textContent();
    check(/between 1 and 20/.test(refusal) && /BAD_USER_INPUT/.test(refusal), `the API's refusal next to the field: ${refusal}`);
    console.log(`API validation next to its field: ${refusal}`);
    await screen(page, '04-program');
    await page.getByLabel('Alternatives').fill('2');
    await page.getByRole('button', { name: 'Run the optimizer' }).click();

    // Live progress to the end.
    await page.getByRole('heading', { name: 'Optimization job' }).waitFor(WAIT);
    await page.waitForSelector('[data-testid="job-status"][data-source="live"]', WAIT);
    await page.waitForSelector('[data-testid="job-status"][data-status="SUCCEEDED"][data-source="live"]', { timeout: 120_000 });
    const seen = (await page.getByTestId('job-status').getAttribute('data-seen')).split(' ');
    console.log(`live statuses: ${seen.join(' → ')}`);
    check(seen.at(-1) === 'SUCCEEDED', `the last live status is ${seen.at(-1)}`);

    // Results: alternatives, chart, the layout on the map.
    await page.getByRole('heading', { name: 'Alternatives' }).waitFor(WAIT);
    const alternatives = await page.getByRole('radio').count();
    check(alternatives >= 1, 'no alternative shown');
    const assets = await waitForRendered(page, 'results', ['layout-assets'], 'asset_id', 3);
    console.log(`results map shows ${assets.length} assets: ${assets.join(', ')}; ${alternatives} alternatives`);
    await waitForRendered(page, 'results', ['layout-roads'], null, 1);
    // The job used the site as edited: the drawn zone, the entrance on the west edge.
    await waitForRendered(page, 'results', ['layout-exclusions'], null, 1);
    const jobEntrances = await page.evaluate(() => window.__entmoot.maps.results.querySourceFeatures('layout')
      .filter((f) => f.properties.kind === 'entrance').map((f) => f.geometry.coordinates));
    check(jobEntrances.some(([lon]) => Math.abs(lon - west) < 1e-5), `the job's entrances: ${JSON.stringify(jobEntrances)}`);
    // Labels: as many as fit without overprinting; zoomed in on the buildings, all of them.
    const labelsShown = (at) => page.waitForFunction((at) => Number(document.querySelector('[data-testid="results-labels"]')?.dataset.labelsShown ?? 0) >= at, at, WAIT);
    await labelsShown(1);
    const overview = await mapLabels(page, 'results');
    check(overview.overlaps === 0, `labels overlap on the results map: ${JSON.stringify(overview)}`);
    await page.evaluate(() => {
      const map = window.__entmoot.maps.results;
      const positions = map.querySourceFeatures('layout').filter((f) => f.properties.kind === 'asset').flatMap((f) => f.geometry.coordinates[0]);
      const lons = positions.map((p) => p[0]);
      const lats = positions.map((p) => p[1]);
      map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 60, animate: false });
    });
    await labelsShown(3);
    const zoomed = await mapLabels(page, 'results');
    check(zoomed.overlaps === 0, `labels overlap on the zoomed results map: ${JSON.stringify(zoomed)}`);
    console.log(`results map labels: ${overview.texts.join(', ')} (whole parcel); ${zoomed.texts.join(', ')} (zoomed in)`);
    await page.evaluate(() => window.__entmoot.maps.results.zoomOut({ animate: false }));
    await screen(page, '05-results');

    // Measure: three clicks on the results map; the reading agrees with the same points
    // measured independently here (haversine on the clicked pixels, unprojected by the map).
    await page.getByRole('button', { name: 'Measure', exact: true }).click();
    const canvasBox = await page.evaluate(() => {
      const box = window.__entmoot.maps.results.getCanvas().getBoundingClientRect();
      return { left: box.left, top: box.top, width: box.width, height: box.height };
    });
    const clicks = [[0.3, 0.65], [0.7, 0.65], [0.7, 0.35]].map(([fx, fy]) => ({ x: canvasBox.left + canvasBox.width * fx, y: canvasBox.top + canvasBox.height * fy }));
    for (const click of clicks) await page.mouse.click(click.x, click.y);
    await page.waitForSelector('[data-testid="measure-readout"][data-points="3"]', WAIT);
    const reading = await page.getByTestId('measure-readout').textContent();
    const expected = await page.evaluate(({ clicks, canvasBox }) => {
      const map = window.__entmoot.maps.results;
      const points = clicks.map((c) => map.unproject([c.x - canvasBox.left, c.y - canvasBox.top]));
      const radius = 6_371_008.8;
      const rad = (d) => (d * Math.PI) / 180;
      const haversine = (a, b) => 2 * radius * Math.asin(Math.sqrt(Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lng - a.lng) / 2) ** 2));
      const [first, second] = [haversine(points[0], points[1]), haversine(points[1], points[2])];
      // The clicks make a right angle on screen, and Web Mercator keeps angles.
      return { distance: first + second, area: (first * second) / 2 };
    }, { clicks, canvasBox });
    const number = (text) => Number(text.replaceAll(',', ''));
    const distanceMatch = /Distance ([\d,.]+) (m|km)/.exec(reading);
    const areaMatch = /([\d,.]+) m²/.exec(reading);
    check(distanceMatch && areaMatch, `measure reading: ${reading}`);
    const distance = number(distanceMatch[1]) * (distanceMatch[2] === 'km' ? 1000 : 1);
    const area = number(areaMatch[1]);
    check(Math.abs(distance - expected.distance) / expected.distance < 0.01, `measured ${distance} m, expected ${expected.distance.toFixed(1)} m`);
    check(Math.abs(area - expected.area) / expected.area < 0.01, `measured ${area} m², expected ${expected.area.toFixed(0)} m²`);
    console.log(`measured on the map: ${reading} (independently: ${expected.distance.toFixed(1)} m, ${expected.area.toFixed(0)} m²)`);
    await screen(page, '05b-measure');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Measure', exact: true }).waitFor(WAIT);
    check(await page.getByTestId('measure-readout').count() === 0, 'Escape did not stop measuring');

    const geojson = await download(page, 'GeoJSON');
    const collection = JSON.parse(geojson.bytes.toString('utf8'));
    const exportedAssets = collection.features.filter((f) => f.properties?.kind === 'asset');
    check(collection.type === 'FeatureCollection' && exportedAssets.length === 3, `${geojson.name}: ${exportedAssets.length} assets`);
    const pdf = await download(page, 'PDF report');
    check(pdf.bytes.subarray(0, 5).toString('latin1') === '%PDF-', `${pdf.name} is not a PDF`);
    console.log(`downloaded ${geojson.name} (${geojson.bytes.length} bytes, ${exportedAssets.length} assets) and ${pdf.name} (${pdf.bytes.length} bytes)`);

    // Edit: drag one building onto another, see the violation, undo.
    await page.getByRole('button', { name: 'Edit this layout' }).click();
    await page.getByRole('heading', { name: /Editing alternative/ }).waitFor(WAIT);
    const editorAssets = await waitForRendered(page, 'editor', ['layout-assets'], 'asset_id', 3);
    const [moved, target] = editorAssets.sort();
    const from = await assetPixel(page, 'editor', moved);
    const to = await assetPixel(page, 'editor', target);
    check(from && to, `no pixel for ${moved} or ${target}`);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 5 });
    await page.mouse.move(to.x, to.y, { steps: 5 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid="edit-check"][data-edits="1"][data-checking="false"]', WAIT);
    const broken = await waitForCheck(page);
    check(!broken.valid, `moving ${moved} onto ${target} was found valid: ${broken.text}`);
    const violationText = await page.getByTestId('violations').textContent();
    const flagged = await waitForRendered(page, 'editor', ['layout-violations'], 'asset_id', 1);
    check(flagged.includes(moved) || flagged.includes(target), `flagged on the map: ${flagged}`);
    console.log(`violation after the drag: ${violationText.trim()} (map flags ${flagged.join(', ')})`);
    await screen(page, '06-editor-violation');
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.waitForSelector('[data-testid="edit-check"][data-edits="0"]', WAIT);

    // Take a building out: it is listed as left out; place it back with a click on the map.
    await page.waitForSelector('[data-testid="unplaced-assets"][data-count="0"]', WAIT);
    await page.getByRole('combobox', { name: /^Asset/ }).selectOption(moved);
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.waitForSelector('[data-testid="edit-check"][data-edits="1"][data-checking="false"]', WAIT);
    await page.waitForSelector('[data-testid="unplaced-assets"][data-count="1"]', WAIT);
    check(!(await rendered(page, 'editor', ['layout-assets'], 'asset_id')).includes(moved), `${moved} is still drawn after its removal`);
    await page.getByRole('button', { name: `Place ${moved} on the map` }).click();
    await page.mouse.click(from.x, from.y);
    await page.waitForSelector('[data-testid="edit-check"][data-edits="2"][data-checking="false"]', WAIT);
    await page.waitForSelector('[data-testid="unplaced-assets"][data-count="0"]', WAIT);
    await waitForRendered(page, 'editor', ['layout-assets'], 'asset_id', 3);
    const placedBack = await waitForCheck(page);
    console.log(`${moved} taken out and placed back by a click: ${placedBack.text}`);
    await screen(page, '06b-editor-add');
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.waitForSelector('[data-testid="edit-check"][data-edits="0"]', WAIT);

    // A valid move: nudge a building one metre, trying each direction until one passes.
    await page.getByRole('combobox', { name: /^Asset/ }).selectOption(moved);
    await page.getByLabel('Step (m)').fill('1');
    let valid = null;
    for (const direction of ['Move north', 'Move south', 'Move east', 'Move west']) {
      await page.getByRole('button', { name: direction }).click();
      await page.waitForSelector('[data-testid="edit-check"][data-edits="1"]', WAIT);
      const result = await waitForCheck(page);
      if (result.valid) { valid = direction; break; }
      await page.getByRole('button', { name: 'Undo' }).click();
      await page.waitForSelector('[data-testid="edit-check"][data-edits="0"]', WAIT);
    }
    check(valid !== null, `no one-metre move of ${moved} is valid`);
    console.log(`valid edit: ${valid} by 1 m`);
    await page.getByRole('button', { name: 'Save as a new layout' }).click();
    await page.getByTestId('saved-layout').waitFor(WAIT);
    await screen(page, '07-editor-saved');

    // Re-optimize around the kept assets: a new job, followed live to the end.
    const editedJobUrl = page.url();
    await page.getByRole('button', { name: 'Re-optimize around the kept assets' }).click();
    await page.waitForURL((url) => url.href !== editedJobUrl && url.pathname.startsWith('/jobs/'), WAIT);
    await page.waitForSelector('[data-testid="job-status"][data-status="SUCCEEDED"][data-source="live"]', { timeout: 120_000 });
    await waitForRendered(page, 'results', ['layout-assets'], 'asset_id', 3);
    await screen(page, '08-reoptimized');

    // The program is reusable: handed to the site's program editor.
    await page.getByRole('button', { name: 'Open it in the program editor' }).click();
    await page.getByRole('heading', { name: 'Rural demo site', level: 1 }).waitFor(WAIT);
    const reused = await page.getByLabel('Name of asset line 1').inputValue();
    check(reused === 'Depot', `the reused program's first asset line is ${reused}`);

    // Administration: the members (the planner among them), the reviewer promoted, the
    // planner (the only admin) refused a step down with the reason shown, the reviewer
    // removed; an API key created with its token shown once, then revoked.
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Strategies' }).waitFor(WAIT);
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length > 0, null, WAIT);
    await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: email, exact: true }).waitFor(WAIT);
    await page.getByLabel(`Role of ${reviewer}`).selectOption('EDITOR');
    await page.getByRole('status').filter({ hasText: `${reviewer} is now editor` }).waitFor(WAIT);
    await page.getByLabel(`Role of ${email}`).selectOption('VIEWER');
    await page.getByRole('alert').filter({ hasText: 'without an admin' }).waitFor(WAIT);
    await page.waitForFunction((who) => document.querySelector(`select[aria-label="Role of ${who}"]`)?.value === 'ADMIN', email, WAIT);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: `Remove ${reviewer}` }).click();
    await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: reviewer, exact: true }).waitFor({ ...WAIT, state: 'detached' });
    await page.getByLabel('Key name').fill('E2E script');
    await page.getByLabel('Key role').selectOption('VIEWER');
    await page.getByRole('button', { name: 'Create a key' }).click();
    const shown = await page.getByRole('status').filter({ hasText: 'E2E script' }).textContent(WAIT);
    check(/emk_[a-z0-9]+_/.test(shown ?? ''), `the new key's token is shown once: ${shown}`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke E2E script' }).click();
    await page.getByRole('button', { name: 'Revoke E2E script' }).waitFor({ ...WAIT, state: 'detached' });
    await screen(page, '09-admin');

    // Sign out: back to the sign-in screen, nothing left in the browser.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Entmoot' }).waitFor(WAIT);
    const stored = await page.evaluate(() => Object.keys(localStorage));
    check(stored.length === 0, `localStorage after signing out: ${stored}`);

    // GraphiQL is served from the binary and renders (no CDN).
    const graphiql = await context.newPage();
    graphiql.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(`GraphiQL: ${message.text()}`);
    });
    await graphiql.goto(`${base}/graphql`);
    await graphiql.locator('.graphiql-container').waitFor(WAIT);
    await graphiql.screenshot({ path: join(screenshots, '10-graphiql.png') });

    check(cspViolations.length === 0, `CSP violations:\n${cspViolations.join('\n')}`);
    check(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
    writeFileSync(join(screenshots, 'flow.ok'), 'ok\n');
  } catch (error) {
    // What the page showed when the flow failed, for the report.
    if (currentPage) {
      await currentPage.screenshot({ path: join(screenshots, 'failure.png'), fullPage: true }).catch(() => {});
      const text = await currentPage.locator('body').innerText().catch(() => '(no page text)');
      console.error(`--- page at the failure (${currentPage.url()}) ---\n${text.slice(0, 3000)}`);
      if (pageErrors.length > 0) console.error(`--- page errors ---\n${pageErrors.join('\n')}`);
    }
    throw error;
  } finally {
    await browser.close();
  }
}

const deadline = setTimeout(() => { console.error('FAILED: the flow did not finish within 400 s'); process.exit(1); }, 400_000);
main().then(
  () => { clearTimeout(deadline); console.log('console flow: done'); process.exit(0); },
  (error) => { console.error(`FAILED: ${error?.stack ?? error}`); process.exit(1); },
);
