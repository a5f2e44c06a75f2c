// Filled in by the hash subsystem.
export {};
