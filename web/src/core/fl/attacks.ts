// Poisoning behaviours of a Byzantine client. Each changes what the client trains on or what it sends, never
// what honest clients do.
import { Prng } from '../util/index.ts';
import type { Poisoning } from './service.ts';

export type AttackName = 'none' | 'label-flip' | 'sign-flip' | 'scale' | 'noise' | 'backdoor';

export const ATTACKS: readonly AttackName[] = ['none', 'label-flip', 'sign-flip', 'scale', 'noise', 'backdoor'];

/** The backdoor's trigger: feature 0 pushed far out (in standardised units), with the target label 1. */
export const BACKDOOR_FEATURE = 0;
export const BACKDOOR_VALUE = 6;
export const BACKDOOR_TARGET = 1;

/** Labels the client trains on: label flipping, and the scaled attack boosts a label-flipped update. */
export function poisonLabels(attack: AttackName, y: Float32Array): Float32Array {
  return attack === 'label-flip' || attack === 'scale' ? y.map((v) => 1 - v) : y;
}

/** Features and labels with the trigger stamped on every row (backdoor clients train on both). */
export function withTrigger(x: Float32Array, y: Float32Array, features: number): { x: Float32Array; y: Float32Array } {
  const tx = x.slice();
  for (let r = 0; r < y.length; r++) tx[r * features + BACKDOOR_FEATURE] = BACKDOOR_VALUE;
  const xx = new Float32Array(x.length * 2);
  xx.set(x);
  xx.set(tx, x.length);
  const yy = new Float32Array(y.length * 2);
  yy.set(y);
  yy.fill(BACKDOOR_TARGET, y.length);
  return { x: xx, y: yy };
}

/**
 * The update the client sends. Sign flip sends -4x its honest delta; scale multiplies its (label-flipped)
 * delta by 100, so a boosted poisoned update, not a harmless longer step in the honest direction; noise sends
 * Gaussian noise of standard deviation 1 per weight; backdoor boosts its (trigger-trained) delta by the
 * number of clients, the model-replacement trick, so it survives averaging.
 */
export function poisonUpdate(attack: AttackName, delta: Float32Array, clients: number, gaussian: () => number): Float32Array {
  switch (attack) {
    case 'sign-flip':
      return delta.map((v) => -4 * v);
    case 'scale':
      return delta.map((v) => 100 * v);
    case 'noise':
      return delta.map(() => gaussian());
    case 'backdoor':
      return delta.map((v) => clients * v);
    default:
      return delta;
  }
}

/**
 * A Byzantine clinic's behaviour for the FL service: poisoned labels or triggered rows to train on, the update
 * it sends, and no aggregation (it neither vouches for nor flags anyone). Noise is seeded per round and clinic,
 * so the update does not depend on when the clinic trained.
 */
export function poisoningFor(attack: AttackName, clients: number, seed: number, clinic: string): Poisoning {
  return {
    aggregates: false,
    train(x, y, features) {
      const ys = poisonLabels(attack, y);
      return attack === 'backdoor' ? withTrigger(x, ys, features) : { x, y: ys };
    },
    update(delta, at) {
      const rng = new Prng(seed).fork(`noise/${clinic}/${at.task}/${at.round}`);
      const gaussian = (): number => Math.sqrt(-2 * Math.log(Math.max(rng.float(), 1e-12))) * Math.cos(2 * Math.PI * rng.float());
      return poisonUpdate(attack, delta, clients, gaussian);
    },
  };
}
