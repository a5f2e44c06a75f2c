// Writes the generated sources: the unrolled field, scalar and SHA-2 arithmetic the wasm core imports, and the
// numbers that cross the wasm boundary in both languages (boundary.mjs, from the tables of boundary.json).
// `npm run build:wasm` runs this first, and so do the scripts that read the TypeScript side without building
// (typecheck, lint, dev, build:web). The outputs are gitignored, so edit the generators and tables, not them.
// No dependencies: `node wasm/gen/all.mjs` from anywhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import boundary from './boundary.mjs';
import compress from './compress.mjs';
import field from './field.mjs';
import scalar from './scalar.mjs';

const outputs = {
  'wasm/assembly/hash/compress.ts': compress(),
  'wasm/assembly/sign/field-unrolled.ts': field(),
  'wasm/assembly/sign/scalar-reduce.ts': scalar(),
  ...boundary(),
};

for (const [path, text] of Object.entries(outputs)) {
  const file = fileURLToPath(new URL(`../../${path}`, import.meta.url));
  // An unchanged file is left alone, so a watcher (vite, tsc --watch) does not see a change on every run.
  let old = null;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // not written yet
  }
  if (old !== text) writeFileSync(file, text);
}
