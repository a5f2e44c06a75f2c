// Exports of the pbft subsystem (filled in by its implementation).
export function pbftReady(): i32 {
  return 1;
}
