// Small helpers every subsystem shares: one implementation of each.
export { toHex, fromHex, parseHex } from './hex.ts';
export { toBase64Url, fromBase64Url } from './base64url.ts';
export { equalBytes, concatBytes } from './bytes.ts';
export { Prng } from './prng.ts';
export { MinHeap } from './min-heap.ts';
export { subscribe } from './subscribe.ts';
export { timeSlicer } from './slice.ts';
export { ReasonError } from './reason-error.ts';
