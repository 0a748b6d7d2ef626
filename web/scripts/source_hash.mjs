// The hash of everything the production bundle is built from, written beside the
// committed bundle (dist.source-sha256) by `npm run build`. tests/tests/web_console.rs
// computes the same hash in Rust and fails when web/ changed without a rebuild, so the
// bundle the binary embeds is never stale.
//
// Inputs: index.html, graphiql.html, package.json, package-lock.json, vite.config.ts,
// tsconfig.json, codegen.ts, and every file under public/ and src/ except unit tests
// (*.test.ts) and src/gql (generated from schema.graphql and src/operations.ts: its
// runtime part, the documents, follows operations.ts, which is hashed; the rest is types). Hash: SHA-256 over, for each file in byte order of its path,
// `path\n` + `length\n` + the bytes + `\n`.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
const TOP_FILES = ['index.html', 'graphiql.html', 'package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.json', 'codegen.ts'];
const TREES = ['public', 'src'];

function walk(directory) {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export function sourceFiles() {
  const files = TOP_FILES.map((name) => join(WEB_DIR, name));
  for (const tree of TREES) {
    files.push(...walk(join(WEB_DIR, tree)).filter((path) => !path.endsWith('.test.ts') && !path.includes(`${sep}src${sep}gql${sep}`)));
  }
  return files
    .map((path) => relative(WEB_DIR, path).split(sep).join('/'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export function sourceHash() {
  const hash = createHash('sha256');
  for (const path of sourceFiles()) {
    const bytes = readFileSync(join(WEB_DIR, path));
    hash.update(`${path}\n${bytes.length}\n`);
    hash.update(bytes);
    hash.update('\n');
  }
  return hash.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const hash = sourceHash();
  if (process.argv.includes('--write')) writeFileSync(join(WEB_DIR, 'dist.source-sha256'), `${hash}\n`);
  console.log(hash);
}
