// Checks that the runtimes the node depends on load here: the wasm core and tfjs-wasm, in this realm (a page
// or a worker). The first screen shows the result for the page and for a worker.

import { coreModuleSize, initCore, sha256 } from '../../../../wasm/index.ts';
import { loadTfWasm } from '../fl/web.ts';
import { toHex } from '../util/index.ts';

export interface RuntimeReport {
  readonly where: 'page' | 'worker';
  readonly core: 'ready' | 'failed';
  readonly coreBytes: number;
  /** SHA-256("abc") by the core: a known answer, not just "it loaded". */
  readonly coreSelfTest: boolean;
  readonly tf: 'wasm' | 'failed';
  /** tfjs's answer to [1, 2] + [3, 4]. */
  readonly tfSelfTest: boolean;
  readonly crossOriginIsolated: boolean;
  readonly error: string | null;
}

const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

export async function probeRuntime(where: 'page' | 'worker'): Promise<RuntimeReport> {
  let core: RuntimeReport['core'] = 'failed';
  let coreSelfTest = false;
  let tf: RuntimeReport['tf'] = 'failed';
  let tfSelfTest = false;
  const errors: string[] = [];
  try {
    await initCore();
    core = 'ready';
    coreSelfTest = toHex(sha256(new TextEncoder().encode('abc'))) === ABC_SHA256;
  } catch (err) {
    errors.push(`core: ${(err as Error).message}`);
  }
  try {
    const t = await loadTfWasm();
    tf = t.getBackend() === 'wasm' ? 'wasm' : 'failed';
    const sum = await t.add(t.tensor1d([1, 2]), t.tensor1d([3, 4])).data();
    tfSelfTest = sum[0] === 4 && sum[1] === 6;
  } catch (err) {
    errors.push(`tfjs: ${(err as Error).message}`);
  }
  return {
    where,
    core,
    coreBytes: core === 'ready' ? coreModuleSize() : 0,
    coreSelfTest,
    tf,
    tfSelfTest,
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    error: errors.length ? errors.join('; ') : null,
  };
}

/** Runs the probe in a dedicated module worker. */
export function probeWorker(timeoutMs = 60_000): Promise<RuntimeReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./probe-worker.ts', import.meta.url), { type: 'module' });
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error('the worker probe timed out'));
    }, timeoutMs);
    worker.onmessage = (ev: MessageEvent<RuntimeReport>) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(ev.data);
    };
    worker.onerror = (ev) => {
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(`the worker failed: ${ev.message}`));
    };
  });
}
