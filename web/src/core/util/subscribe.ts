// The `onX(handler)` pattern: a set of handlers, and the function that takes one out again.

/** Adds `handler` to `handlers`; returns the function that removes it (what an `onX` method answers). */
export function subscribe<H>(handlers: Set<H>, handler: H): () => void {
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}
