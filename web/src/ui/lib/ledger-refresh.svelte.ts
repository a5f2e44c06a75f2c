// Screens that show ledger state reload when the ledger moves (a new committed block), at most once per
// `minGapMs`, and once right away.
import type { Remote } from './remote.svelte.ts';

export function reloadOnHeight(height: () => number, remotes: Remote<unknown>[], minGapMs = 750): void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  $effect(() => {
    void height();
    const now = Date.now();
    const run = () => {
      last = Date.now();
      timer = null;
      for (const r of remotes) void r.load();
    };
    if (now - last >= minGapMs) run();
    else if (!timer) timer = setTimeout(run, minGapMs - (now - last));
  });
  $effect(() => () => {
    if (timer) clearTimeout(timer);
  });
}
