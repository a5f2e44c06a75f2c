// Filled in by the ed25519 subsystem.
export {};
