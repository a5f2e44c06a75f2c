// What a call threw, as a test compares it: the typed error's code, or a word for no error.

/**
 * Runs `fn`; if it throws a `type`, answers `read(error)`, if it returns, `none`. Any other error is thrown on
 * (a bug is not a refusal).
 */
export function thrown<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E, read: (e: E) => string, none: string): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return read(err);
    throw err;
  }
  return none;
}
