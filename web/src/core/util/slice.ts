// Long loops on a page's main thread hand the event loop a turn now and then, so that no single task runs for
// long: the page's replica answers its peers, timers fire and input is handled while a clinic reads its records
// to train. Browsers have scheduler.yield (it resumes ahead of other pending work, unlike setTimeout); where
// there is none (Node: the CLI and the tests, which have no page to keep responsive) loops run straight.

type Yielding = { scheduler?: { yield?: () => Promise<void> } };

/**
 * A function to await inside a long loop: it yields once the current slice has run `budgetMs`, and is a
 * no-op where the platform cannot yield.
 */
export function timeSlicer(budgetMs = 4): () => Promise<void> {
  const scheduler = (globalThis as Yielding).scheduler;
  if (typeof scheduler?.yield !== 'function') return () => Promise.resolve();
  let start = performance.now();
  return async () => {
    if (performance.now() - start < budgetMs) return;
    await scheduler.yield!();
    start = performance.now();
  };
}
