// What a screen shows of something it asks the node for: the value, whether it is being fetched, the last
// error in plain words, and when it was last fetched (so an offline screen can say "as of 10:42").
import { plainError } from './errors.ts';

export class Remote<T> {
  value = $state<T | undefined>(undefined);
  error = $state<string | null>(null);
  loading = $state(false);
  loadedAt = $state<number | null>(null);
  private seq = 0;

  constructor(private readonly fetcher: () => Promise<T>) {}

  /** Fetches again; a stale answer (an older call finishing last) is dropped. The last value stays on error. */
  async load(): Promise<void> {
    const seq = ++this.seq;
    this.loading = true;
    try {
      const v = await this.fetcher();
      if (seq !== this.seq) return;
      this.value = v;
      this.error = null;
      this.loadedAt = Date.now();
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = plainError(err);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

/** A button's work: busy while it runs, its error in plain words, its last result. */
export class Action<A extends unknown[], R> {
  busy = $state(false);
  error = $state<string | null>(null);
  result = $state<R | undefined>(undefined);

  constructor(private readonly work: (...args: A) => Promise<R>) {}

  async run(...args: A): Promise<R | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    this.error = null;
    try {
      const r = await this.work(...args);
      this.result = r;
      return r;
    } catch (err) {
      this.error = plainError(err);
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
