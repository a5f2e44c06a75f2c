// What a worker-hosted clinic node says to its page, batched: every message a task produces (a vote to three
// peers, a block's snapshot) leaves as one postMessage once the task's microtasks are done, and snapshots go at
// most every SNAPSHOT_MS (the screens redraw a few times a second; the node changes state dozens of times). Each
// message wakes the page's main thread, which draws the screens and must stay free for the nurse.
//
// Order still holds where it matters: a call's result goes out after the newest snapshot, so the page never
// holds a result older than the state it reads; and a result is posted alone, so one the page cannot be sent
// (not cloneable) fails only itself.
import type { ClinicSnapshot } from './api.ts';
import { toWireError, type FromWorker, type NodeEndpoint } from './clinic-wire.ts';

export const SNAPSHOT_MS = 100;

type Result = Extract<FromWorker, { t: 'result' }>;

export class Outbox {
  private queue: FromWorker[] = [];
  private transfer: Transferable[] = [];
  private scheduled = false;
  private snapshot: ClinicSnapshot | null = null;
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private snapshotAt = -Infinity;

  constructor(
    private readonly ep: NodeEndpoint,
    private readonly snapshotMs = SNAPSHOT_MS,
  ) {}

  /** Queues a message for this task's batch; `transfer` moves buffers that only this message holds. */
  post(m: FromWorker, transfer: Transferable[] = []): void {
    if (m.t === 'ready' || m.t === 'progress' || m.t === 'failed') this.takeSnapshot();
    this.queue.push(m);
    this.transfer.push(...transfer);
    this.schedule();
  }

  /** The node's newest state; the page gets it within snapshotMs (sooner if a result follows). */
  snapshotChanged(s: ClinicSnapshot): void {
    this.snapshot = s;
    if (this.snapshotTimer) return;
    const wait = Math.max(0, this.snapshotAt + this.snapshotMs - Date.now());
    this.snapshotTimer = setTimeout(() => this.takeSnapshot(), wait);
  }

  /** A call's answer: after everything queued before it, on its own. */
  result(r: Result): void {
    this.takeSnapshot();
    this.flush();
    try {
      this.ep.postMessage(r);
    } catch (e) {
      this.ep.postMessage({ t: 'result', id: r.id, ok: false, error: toWireError(e) } satisfies Result);
    }
  }

  private takeSnapshot(): void {
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
    if (!this.snapshot) return;
    this.queue.push({ t: 'snapshot', snapshot: this.snapshot });
    this.snapshot = null;
    this.snapshotAt = Date.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const messages = this.queue;
    const transfer = this.transfer;
    this.queue = [];
    this.transfer = [];
    this.ep.postMessage(messages.length === 1 ? messages[0] : ({ t: 'batch', messages } satisfies FromWorker), transfer);
  }
}
