// Runs after `vite build`: fails the build when the gzipped JavaScript of the console's
// first load exceeds the budget, then records the source hash of the bundle.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WEB_DIR, sourceHash } from './source_hash.mjs';

/** Gzipped bytes of JavaScript the console may load before it is usable (map library included). */
export const FIRST_LOAD_BUDGET_BYTES = 800 * 1024;

const dist = join(WEB_DIR, 'dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
// The entry script and every chunk Vite preloads for it: what the first load fetches.
const scripts = [...html.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="(?:\.)?\/([^"]+\.js)"/g)]
  .map((match) => match[1]);
if (scripts.length === 0) {
  console.error('after_build: dist/index.html loads no script; the budget check cannot run');
  process.exit(1);
}
let total = 0;
for (const script of scripts) {
  const gzipped = gzipSync(readFileSync(join(dist, script)), { level: 9 }).length;
  total += gzipped;
  console.log(`first load: ${script} ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
}
console.log(`first load total: ${(total / 1024).toFixed(1)} KiB gzipped (budget ${FIRST_LOAD_BUDGET_BYTES / 1024} KiB)`);
if (total > FIRST_LOAD_BUDGET_BYTES) {
  console.error('after_build: the first load is over budget');
  process.exit(1);
}
const hash = sourceHash();
writeFileSync(join(WEB_DIR, 'dist.source-sha256'), `${hash}\n`);
console.log(`source hash ${hash} written to dist.source-sha256`);
