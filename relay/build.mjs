// Compiles the relay to plain JavaScript (issue 15: no TypeScript loader at run time): relay/main.ts with
// everything it imports (web/src, wasm/, and its npm packages: ws, prom-client, ioredis) bundled by esbuild
// into dist-relay/relay/, so the output runs on its own, and the wasm core copied where its loader looks
// (../build/ next to the bundle's directory).
// `node relay/build.mjs [--out DIR]` (npm start does; tests build their own copy into a temporary DIR).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--out');
const out = at > 0 && process.argv[at + 1] ? process.argv[at + 1] : join(root, 'dist-relay');
const wasm = join(root, 'wasm', 'build', 'release.wasm');
if (!existsSync(wasm)) {
  console.error('relay build: wasm/build/release.wasm is missing; run `npm run build:wasm` first');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'relay', 'main.ts')],
  outdir: join(out, 'relay'),
  bundle: true,
  // The Redis backplane (ioredis, ~20 MiB resident) is imported only when REDIS_URL is set: keep it a chunk.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The packages are CommonJS: give the ES module bundle a `require` for their Node built-ins.
  banner: { js: "import { createRequire as __hygeiaCreateRequire } from 'node:module'; const require = __hygeiaCreateRequire(import.meta.url);" },
  // ws's optional native speed-ups: absent here, and ws runs without them.
  external: ['bufferutil', 'utf-8-validate'],
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
// The wasm loader finds the core at ../build/ from its own file: it must stay in main.js, not move to a chunk.
if (!readFileSync(join(out, 'relay', 'main.js'), 'utf8').includes('../build/')) {
  console.error('relay build: the wasm loader left main.js; fix the copy destination in relay/build.mjs');
  process.exit(1);
}
mkdirSync(join(out, 'build'), { recursive: true });
copyFileSync(wasm, join(out, 'build', 'release.wasm'));
console.log(`relay build: ${join(out, 'relay', 'main.js')}`);
