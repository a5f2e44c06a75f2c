// The module's exports. Each subsystem keeps its own export list in its folder; this file only gathers them.
export * from './hash/exports';
export * from './sign/exports';
export * from './codec/exports';
export * from './pbft/exports';
