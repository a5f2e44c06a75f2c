// SHA-256 and SHA-512 over the wasm core. Inputs go through one preallocated input region; larger inputs
// are streamed through it in chunks, so no call allocates in wasm except a streaming context.
import { core, memoryBytes, type CoreExports } from './instance.ts';

interface HashExports extends CoreExports {
  HASH_INPUT_BYTES: WebAssembly.Global;
  hashInputPtr(): number;
  hashOutputPtr(): number;
  sha256Input(len: number): void;
  sha512Input(len: number): void;
  hashContextNew(bits: number): number;
  hashContextUpdate(bits: number, ctx: number, len: number): void;
  hashContextFinal(bits: number, ctx: number): void;
  hashContextFree(ctx: number): void;
}

/** Raised when a streaming hasher is used after its digest was taken. */
export class HashStateError extends Error {
  override readonly name = 'HashStateError';
}

/** Raised when a hash input is not a Uint8Array (a string or a plain array would otherwise hash as zeros). */
export class HashInputError extends TypeError {
  override readonly name = 'HashInputError';
}

function checkInput(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new HashInputError('hash input must be a Uint8Array');
}

function ex(): HashExports {
  return core<HashExports>();
}

// The input and output regions never move, so their offsets are read once per loaded module; the byte view is
// memoryBytes' (rebuilt only when memory grew). A 64-byte hash then pays for no export calls but the hash and
// allocates nothing but its result.
interface Regions {
  e: HashExports;
  input: number;
  output: number;
  cap: number;
}
let regions: Regions | null = null;

function current(): Regions {
  const e = ex();
  if (regions === null || regions.e !== e) {
    regions = { e, input: e.hashInputPtr(), output: e.hashOutputPtr(), cap: e.HASH_INPUT_BYTES.value as number };
  }
  return regions;
}

function readOutput(r: Regions, bytes: number): Uint8Array {
  return memoryBytes(r.e).slice(r.output, r.output + bytes);
}

function oneShot(bits: 256 | 512, data: Uint8Array): Uint8Array {
  checkInput(data);
  const r = current();
  if (data.length <= r.cap) {
    memoryBytes(r.e).set(data, r.input);
    if (bits === 256) r.e.sha256Input(data.length);
    else r.e.sha512Input(data.length);
    return readOutput(r, bits / 8);
  }
  return new StreamingHash(bits).update(data).digest();
}

export function sha256(data: Uint8Array): Uint8Array {
  return oneShot(256, data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return oneShot(512, data);
}

// A hasher dropped without a digest still owns wasm heap memory; give it back when it is collected.
const contexts = new FinalizationRegistry<number>((ctx) => {
  try {
    ex().hashContextFree(ctx);
  } catch {
    // The module is gone (never happens after initCore); nothing to free.
  }
});

/** An incremental hash for streams: update with chunks of any size, then digest once. */
export class StreamingHash {
  readonly #bits: 256 | 512;
  #ctx: number;

  constructor(bits: 256 | 512) {
    this.#bits = bits;
    this.#ctx = ex().hashContextNew(bits);
    contexts.register(this, this.#ctx, this);
  }

  update(chunk: Uint8Array): this {
    if (this.#ctx === 0) throw new HashStateError('this hasher already produced its digest');
    checkInput(chunk);
    for (let off = 0; off < chunk.length;) {
      const r = current();
      const n = Math.min(r.cap, chunk.length - off);
      memoryBytes(r.e).set(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n), r.input);
      r.e.hashContextUpdate(this.#bits, this.#ctx, n);
      off += n;
    }
    return this;
  }

  digest(): Uint8Array {
    if (this.#ctx === 0) throw new HashStateError('this hasher already produced its digest');
    current().e.hashContextFinal(this.#bits, this.#ctx);
    contexts.unregister(this);
    this.#ctx = 0;
    return readOutput(current(), this.#bits / 8);
  }
}

export function createSha256(): StreamingHash {
  return new StreamingHash(256);
}

export function createSha512(): StreamingHash {
  return new StreamingHash(512);
}
