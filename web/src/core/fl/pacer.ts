// Training is background work on a clinic tablet: the nurse's screen comes first. A pacer lets a long local
// training job run in slices and rest between them, and it learns how long to rest from its own wake-ups: a
// rest that ends late means other threads (the page's among them) were waiting for a core, so the next rest
// is longer; a rest that ends on time means the machine has room, so the next one is shorter. On a tablet
// with cores to spare the job runs at close to full speed; where four clinics share two cores (the bench)
// the trainers step back instead of starving the pages. Pacing changes when batches run, never what they
// compute: the weights are the same with or without it.

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface PacerOptions {
  /** Longest run of batches between rests (ms). */
  readonly sliceMs?: number;
  readonly minRestMs?: number;
  readonly maxRestMs?: number;
  /** A wake-up this much later than asked counts as contention (ms). */
  readonly lateMs?: number;
}

export class Pacer {
  readonly #clock: PacerClock;
  readonly #slice: number;
  readonly #min: number;
  readonly #max: number;
  readonly #late: number;
  #sliceStart: number;
  #rest: number;
  /** Rests taken and their total length (ms), for the trainer's report. */
  rests = 0;
  restedMs = 0;

  constructor(clock: PacerClock, o: PacerOptions = {}) {
    this.#clock = clock;
    this.#slice = o.sliceMs ?? 8;
    this.#min = o.minRestMs ?? 1;
    this.#max = o.maxRestMs ?? 32;
    this.#late = o.lateMs ?? 2;
    this.#rest = this.#min;
    this.#sliceStart = clock.now();
  }

  /** Called between batches: rests when the current slice is used up. */
  async between(): Promise<void> {
    if (this.#clock.now() - this.#sliceStart < this.#slice) return;
    const asked = this.#rest;
    const t0 = this.#clock.now();
    await this.#clock.sleep(asked);
    const took = this.#clock.now() - t0;
    this.rests++;
    this.restedMs += took;
    this.#rest = took - asked > this.#late ? Math.min(this.#max, asked * 2) : Math.max(this.#min, asked / 2);
    this.#sliceStart = this.#clock.now();
  }
}

export const realTimePacerClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
