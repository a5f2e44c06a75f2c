// One link's outgoing frames, released to the data channel only while its buffer is below a high-water mark
// (an RTCDataChannel closes itself when its buffer overflows, at 16 MiB in Chromium). Messages stay whole and
// in order: a message's fragments are queued together, and the queue is first in, first out. A message that
// would push the queue past its bound is refused whole, so a slow or stalled peer costs bounded memory and the
// sender learns at once (the Transport contract is best-effort: protocols above retransmit).

/** The part of an RTCDataChannel the queue drives. */
export interface FrameSink {
  readonly bufferedAmount: number;
  send(frame: Uint8Array): void;
}

export interface SendQueueOptions {
  /** Frames are handed to the channel while its bufferedAmount is below this. */
  readonly highWaterBytes?: number;
  /** Bytes that may wait in the queue (beyond what the channel buffers). */
  readonly maxQueuedBytes?: number;
}

export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export class SendQueue {
  readonly highWaterBytes: number;
  readonly maxQueuedBytes: number;
  private frames: Uint8Array[] = [];
  private head = 0;
  private queued = 0;

  constructor(
    private readonly sink: FrameSink,
    opts: SendQueueOptions = {},
  ) {
    this.highWaterBytes = opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  }

  /** Bytes waiting in the queue (not yet handed to the channel). */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Queues one message's frames and sends what the channel takes now. False (and nothing queued) if the
   * message does not fit the queue's bound. A failing send (the channel closed) throws out of here.
   */
  enqueue(frames: readonly Uint8Array[]): boolean {
    let size = 0;
    for (const f of frames) size += f.length;
    if (this.queued + size > this.maxQueuedBytes) return false;
    for (const f of frames) this.frames.push(f);
    this.queued += size;
    this.pump();
    return true;
  }

  /** Hands frames to the channel while it is below the high-water mark (call again on bufferedamountlow). */
  pump(): void {
    while (this.head < this.frames.length && this.sink.bufferedAmount < this.highWaterBytes) {
      const f = this.frames[this.head]!;
      this.frames[this.head++] = EMPTY;
      this.queued -= f.length;
      this.sink.send(f);
    }
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }

  /** Forgets everything queued (the link closed). */
  clear(): void {
    this.frames = [];
    this.head = 0;
    this.queued = 0;
  }
}

const EMPTY = new Uint8Array(0);
