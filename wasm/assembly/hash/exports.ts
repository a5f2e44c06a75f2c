// Exports of the hash subsystem (filled in by its implementation).
export function hashReady(): i32 {
  return 1;
}
