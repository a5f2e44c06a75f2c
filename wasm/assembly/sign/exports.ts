// Exports of the sign subsystem (filled in by its implementation).
export function signReady(): i32 {
  return 1;
}
