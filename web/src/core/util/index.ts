// Small helpers every subsystem shares: one implementation of each.
export { toHex, fromHex, parseHex } from './hex.ts';
export { equalBytes, concatBytes } from './bytes.ts';
export { Prng } from './prng.ts';
export { MinHeap } from './min-heap.ts';
