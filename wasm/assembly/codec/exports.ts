// Exports of the codec subsystem (filled in by its implementation).
export function codecReady(): i32 {
  return 1;
}
