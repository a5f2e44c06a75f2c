// SHA-256 and SHA-512 over the wasm core. Inputs go through one preallocated input region; larger inputs
// are streamed through it in chunks, so no call allocates in wasm except a streaming context.
import { core, type CoreExports } from './instance.ts';

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

function ex(): HashExports {
  return core<HashExports>();
}

function inputCapacity(e: HashExports): number {
  return e.HASH_INPUT_BYTES.value as number;
}

function readOutput(e: HashExports, bytes: number): Uint8Array {
  return new Uint8Array(e.memory.buffer, e.hashOutputPtr(), bytes).slice();
}

function oneShot(bits: 256 | 512, data: Uint8Array): Uint8Array {
  const e = ex();
  const cap = inputCapacity(e);
  if (data.length <= cap) {
    new Uint8Array(e.memory.buffer, e.hashInputPtr(), data.length).set(data);
    if (bits === 256) e.sha256Input(data.length);
    else e.sha512Input(data.length);
    return readOutput(e, bits / 8);
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
    const e = ex();
    const cap = inputCapacity(e);
    for (let off = 0; off < chunk.length; off += cap) {
      const part = chunk.subarray(off, Math.min(chunk.length, off + cap));
      new Uint8Array(e.memory.buffer, e.hashInputPtr(), part.length).set(part);
      e.hashContextUpdate(this.#bits, this.#ctx, part.length);
    }
    return this;
  }

  digest(): Uint8Array {
    if (this.#ctx === 0) throw new HashStateError('this hasher already produced its digest');
    const e = ex();
    e.hashContextFinal(this.#bits, this.#ctx);
    contexts.unregister(this);
    this.#ctx = 0;
    return readOutput(e, this.#bits / 8);
  }
}

export function createSha256(): StreamingHash {
  return new StreamingHash(256);
}

export function createSha512(): StreamingHash {
  return new StreamingHash(512);
}
