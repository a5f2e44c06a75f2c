// A test file's simulated consortia: the wasm core initialised before its tests, and the consortium a test
// started closed after it (so a failing test does not leave replicas and timers behind).
import { afterEach, beforeAll } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { SimConsortium, type SimConsortiumOptions } from '../../../web/src/core/fl/index.ts';

/** Registers the hooks; the function it returns starts a test's consortium. */
export function useSimConsortium(): (opts: SimConsortiumOptions) => Promise<SimConsortium> {
  let sim: SimConsortium | null = null;
  beforeAll(async () => {
    await initCore();
  });
  afterEach(async () => {
    await sim?.close();
    sim = null;
  });
  return async (opts) => (sim = await SimConsortium.create(opts));
}
