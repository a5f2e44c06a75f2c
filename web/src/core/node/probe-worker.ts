// A module worker that reports whether the wasm core and tfjs-wasm load inside a worker.
import { probeRuntime } from './runtime-probe.ts';

probeRuntime('worker').then(
  (report) => postMessage(report),
  (err: unknown) =>
    postMessage({ where: 'worker', core: 'failed', coreBytes: 0, coreSelfTest: false, tf: 'failed', tfSelfTest: false, crossOriginIsolated: false, error: String(err) }),
);
