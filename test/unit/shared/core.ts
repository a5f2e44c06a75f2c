// The wasm core, initialised once before a test file's tests.
import { beforeAll } from 'vitest';
import { initCore } from '../../../wasm/index.ts';

export function useCore(): void {
  beforeAll(async () => {
    await initCore();
  });
}
