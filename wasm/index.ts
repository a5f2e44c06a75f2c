// The JS face of Hygeia's AssemblyScript core: one import for Node, pages and workers.
export { initCore, coreModuleSize, CoreAbortError, CoreNotReadyError } from './face/instance.ts';
export * from './face/hash.ts';
export * from './face/ed25519.ts';
export * from './face/replica.ts';
