// Loads the AssemblyScript module once, in Node, a page or a worker, and hands its exports to the
// face modules beside this file. Nothing outside wasm/ touches linear memory.

export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  readonly [name: string]: unknown;
}

/** Raised when the wasm module aborts (an AssemblyScript assertion or runtime trap). */
export class CoreAbortError extends Error {
  override readonly name = 'CoreAbortError';
}

/** Raised when a face function is called before `initCore()` resolved. */
export class CoreNotReadyError extends Error {
  override readonly name = 'CoreNotReadyError';
  constructor() {
    super('the wasm core is not loaded: await initCore() first');
  }
}

let exportsRef: CoreExports | null = null;
let loading: Promise<void> | null = null;
let moduleBytes = 0;

function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const view = new Uint32Array(memory.buffer);
  const byteLength = view[(ptr - 4) >>> 2] ?? 0;
  return new TextDecoder('utf-16le').decode(new Uint8Array(memory.buffer, ptr, byteLength));
}

async function fetchModuleBytes(flavour: 'release' | 'debug'): Promise<ArrayBuffer> {
  const url = new URL(`../build/${flavour}.wasm`, import.meta.url);
  if (url.protocol === 'file:') {
    // Node: read from disk. The specifier is computed so that bundlers leave it alone.
    const fsName = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    const buf = await fs.readFile(url);
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load the wasm core from ${url.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

async function load(): Promise<void> {
  const flavour = (globalThis as { HYGEIA_WASM_DEBUG?: boolean }).HYGEIA_WASM_DEBUG ? 'debug' : 'release';
  const bytes = await fetchModuleBytes(flavour);
  moduleBytes = bytes.byteLength;
  let memory: WebAssembly.Memory | null = null;
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: {
      abort(msg: number, file: number, line: number, column: number): never {
        const m = memory ? readAsString(memory, msg) : '';
        const f = memory ? readAsString(memory, file) : '';
        throw new CoreAbortError(`wasm core aborted: ${m} at ${f}:${line}:${column}`);
      },
    },
  });
  const ex = instance.exports as unknown as CoreExports;
  memory = ex.memory;
  exportsRef = ex;
}

/** Loads the wasm core. Idempotent and safe to call concurrently; every other export needs it first. */
export function initCore(): Promise<void> {
  if (exportsRef) return Promise.resolve();
  loading ??= load().catch((err: unknown) => {
    loading = null;
    throw err;
  });
  return loading;
}

/** The loaded module's exports; throws CoreNotReadyError before initCore() resolved. */
export function core<T extends CoreExports = CoreExports>(): T {
  if (!exportsRef) throw new CoreNotReadyError();
  return exportsRef as T;
}

let bytes: Uint8Array | null = null;

/**
 * A byte view over all of linear memory, built once and again only after memory grew (growth detaches the
 * old buffer), so that a call copying 32 bytes in does not allocate a view for them. Take it again after any
 * call into the core that may allocate.
 */
export function memoryBytes(e: CoreExports): Uint8Array {
  const buffer = e.memory.buffer;
  if (bytes === null || bytes.buffer !== buffer) bytes = new Uint8Array(buffer);
  return bytes;
}

/** Size in bytes of the loaded .wasm binary (reported by the benchmark). */
export function coreModuleSize(): number {
  return moduleBytes;
}
