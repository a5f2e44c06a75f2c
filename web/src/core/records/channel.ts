// Other open stores on the same database (other tabs, workers) hear what changed, never what: 'changed' after
// a write (drop cached summaries), 'rotated' after an erasure or a rekey (reload the keyring, drop every
// cached data key, so no tab keeps an erased patient's key in memory).
export type StoreEvent = 'changed' | 'rotated';

export class StoreChannel {
  readonly #channel: BroadcastChannel | null;

  constructor(dbName: string, onEvent: (e: StoreEvent) => void) {
    if (typeof BroadcastChannel !== 'function') {
      this.#channel = null;
      return;
    }
    this.#channel = new BroadcastChannel(`hygeia/records/${dbName}`);
    this.#channel.onmessage = (m: MessageEvent) => {
      if (m.data === 'changed' || m.data === 'rotated') onEvent(m.data);
    };
    // Node: an open channel must not keep the process alive.
    (this.#channel as unknown as { unref?: () => void }).unref?.();
  }

  post(e: StoreEvent): void {
    this.#channel?.postMessage(e);
  }

  close(): void {
    this.#channel?.close();
  }
}
