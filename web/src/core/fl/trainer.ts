// A trainer is where a clinic's training runs: a Web Worker in the page, a worker_threads worker in Node, or
// this thread in tests. The FL service sees one interface; TrainerPool spreads jobs over several workers
// (each job builds its model afresh from the job's spec and weights, so results do not depend on which
// worker ran it).
import type { EvalJob, EvalResult, TrainJob, TrainResult, TrainerApi } from './trainer-api.ts';
import type { ModelSpec } from './model.ts';

export interface Trainer {
  initialWeights(spec: ModelSpec): Promise<{ weights: Float32Array; digest: string }>;
  train(job: TrainJob): Promise<TrainResult>;
  evaluate(job: EvalJob): Promise<EvalResult>;
  close(): Promise<void>;
}

/** A Trainer over a (possibly remote, comlink-wrapped) TrainerApi. */
export function trainerOf(api: Pick<TrainerApi, 'initialWeights' | 'train' | 'evaluate'>, close: () => Promise<void> = async () => {}): Trainer {
  return {
    initialWeights: (spec) => api.initialWeights(spec),
    train: (job) => api.train(job),
    evaluate: (job) => api.evaluate(job),
    close,
  };
}

/** Spreads jobs over trainers: each job to the one with the fewest jobs in flight (ties: the first). */
export class TrainerPool implements Trainer {
  private readonly busy: number[];

  constructor(private readonly trainers: readonly Trainer[]) {
    if (trainers.length === 0) throw new RangeError('a trainer pool needs at least one trainer');
    this.busy = trainers.map(() => 0);
  }

  get size(): number {
    return this.trainers.length;
  }

  private async run<T>(fn: (t: Trainer) => Promise<T>): Promise<T> {
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[k]!) k = i;
    this.busy[k]!++;
    try {
      return await fn(this.trainers[k]!);
    } finally {
      this.busy[k]!--;
    }
  }

  initialWeights(spec: ModelSpec): Promise<{ weights: Float32Array; digest: string }> {
    return this.run((t) => t.initialWeights(spec));
  }
  train(job: TrainJob): Promise<TrainResult> {
    return this.run((t) => t.train(job));
  }
  evaluate(job: EvalJob): Promise<EvalResult> {
    return this.run((t) => t.evaluate(job));
  }
  async close(): Promise<void> {
    await Promise.all(this.trainers.map((t) => t.close()));
  }
}
