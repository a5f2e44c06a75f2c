// The JS face of Hygeia's AssemblyScript core: one import for Node, pages and workers.
export { initCore, coreModuleSize, CoreAbortError, CoreNotReadyError } from './face/instance.ts';
