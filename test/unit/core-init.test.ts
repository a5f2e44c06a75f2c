import { describe, expect, it } from 'vitest';
import { initCore, coreModuleSize } from '../../wasm/index.ts';
import { core, CoreNotReadyError } from '../../wasm/face/instance.ts';

describe('initCore', () => {
  it('loads the module once, idempotently and concurrently', async () => {
    await Promise.all([initCore(), initCore(), initCore()]);
    const first = core();
    await initCore();
    expect(core()).toBe(first);
    expect(coreModuleSize()).toBeGreaterThan(0);
    expect(first.memory).toBeInstanceOf(WebAssembly.Memory);
  });

  it('names the error a caller sees before loading', () => {
    expect(new CoreNotReadyError().message).toMatch(/initCore/);
  });
});
