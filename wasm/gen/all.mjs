// Writes the generated AssemblyScript (unrolled field, scalar and SHA-2 arithmetic) where wasm/assembly imports
// it. `npm run build:wasm` runs this first; the outputs are gitignored, so edit the generators, not them.
// No dependencies: `node wasm/gen/all.mjs` from anywhere.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import compress from './compress.mjs';
import field from './field.mjs';
import scalar from './scalar.mjs';

const outputs = {
  'hash/compress.ts': compress,
  'sign/field-unrolled.ts': field,
  'sign/scalar-reduce.ts': scalar,
};

for (const [path, generate] of Object.entries(outputs)) {
  writeFileSync(fileURLToPath(new URL(`../assembly/${path}`, import.meta.url)), generate());
}
