// Filled in by the replica subsystem.
export {};
