// Keeps the relay's view of the ledger current. The relay is a light client that replays the chain itself (it
// checks every certificate and state root) and admits exactly the members its verified state names; a clinic
// node only hands it the committed blocks it lacks. Every validator does this (one honest node suffices), after
// a short random delay so they do not all push the same blocks at once.
import type { Block } from '../ledger/block.ts';

/** What the node needs of the relay's HTTP client (net/relay-client.ts's RelayClient). */
export interface RelayLedgerClient {
  catchUp(localHeight: number, read: (from: number, to: number) => Promise<readonly Block[]>): Promise<{ height: number; hash: string }>;
}

export interface RelaySyncOptions {
  readonly client: RelayLedgerClient;
  readonly height: () => number;
  readonly read: (from: number, to: number) => Promise<readonly Block[]>;
  /** Random delay before a push, so the validators do not all push together (default up to 400 ms). */
  readonly jitterMs?: number;
  /** After a failure, wait this long before trying again (default 2 s). */
  readonly retryMs?: number;
  readonly onProblem?: (message: string | null) => void;
}

export class RelaySync {
  private running = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  relayHeight = 0;

  constructor(private readonly opts: RelaySyncOptions) {}

  /** Call after every committed block (cheap: pushes are coalesced). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.run();
      },
      Math.random() * (this.opts.jitterMs ?? 400),
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      const local = this.opts.height();
      if (local > this.relayHeight) {
        const head = await this.opts.client.catchUp(local, this.opts.read);
        this.relayHeight = head.height;
      }
      this.opts.onProblem?.(null);
    } catch (e) {
      this.opts.onProblem?.(`The relay did not take the latest blocks (${e instanceof Error ? e.message : String(e)}); retrying.`);
      this.again = true;
      await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 2000));
    } finally {
      this.running = false;
    }
    if (this.again && !this.stopped) {
      this.again = false;
      this.poke();
    }
  }
}
