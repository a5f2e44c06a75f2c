// A seeded wearable gateway: what a patient's watch or patch would send to its clinic, as FHIR R4
// Observations. Heart rate once a minute, SpO2 every five minutes, steps every fifteen, over a day with
// sleep and activity; devices fail the way real ones do (dropouts, motion artifacts, sensor errors).
// Same seed, same stream: the tests and the learning experiments are reproducible.
import { Prng } from '../util/index.ts';

export type WearableProfile = 'healthy' | 'at-risk';
export type FaultKind = 'dropout' | 'artifact' | 'sensor-error';

export interface WearableOptions {
  readonly seed: number;
  readonly patientId: string;
  readonly deviceId: string;
  /** Start of the stream, ms since the epoch (UTC). */
  readonly start: number;
  readonly durationMs: number;
  /** At-risk patients have a higher resting heart rate, lower saturation and fewer steps. */
  readonly profile?: WearableProfile;
  /** Probability that one sample is faulty (default 0.01). */
  readonly faultRate?: number;
}

export interface WearableFault {
  readonly kind: FaultKind;
  readonly signal: Signal;
  readonly time: number;
}

export type Signal = 'heart-rate' | 'spo2' | 'steps';

/** LOINC code, display, UCUM unit and sampling period of each signal. */
export const SIGNALS: Readonly<Record<Signal, { code: string; display: string; unit: string; ucum: string; periodMs: number; category: string }>> = {
  'heart-rate': { code: '8867-4', display: 'Heart rate', unit: '/min', ucum: '/min', periodMs: 60_000, category: 'vital-signs' },
  spo2: { code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', unit: '%', ucum: '%', periodMs: 300_000, category: 'vital-signs' },
  steps: { code: '55423-8', display: 'Number of steps in unspecified time Pedometer', unit: 'steps', ucum: '{steps}', periodMs: 900_000, category: 'activity' },
};

const CODE_TO_SIGNAL: ReadonlyMap<string, Signal> = new Map(Object.entries(SIGNALS).map(([s, d]) => [d.code, s as Signal]));

/** The signal an Observation carries, if it is one of ours (by LOINC code). */
export function signalOf(o: fhir4.Observation): Signal | undefined {
  for (const c of o.code.coding ?? []) {
    if (c.system === 'http://loinc.org' && c.code !== undefined) {
      const s = CODE_TO_SIGNAL.get(c.code);
      if (s) return s;
    }
  }
  return undefined;
}

export class WearableError extends Error {
  override readonly name = 'WearableError';
}

const HOUR = 3_600_000;
/** Local hour of day (the stream's clock is UTC; the patient's day is taken as UTC for simplicity). */
const hourOf = (t: number): number => Math.floor((((t % 86_400_000) + 86_400_000) % 86_400_000) / HOUR);
const asleep = (t: number): boolean => {
  const h = hourOf(t);
  return h < 6 || h >= 23;
};

/** A standard normal variate (Box-Muller) from the seeded generator. */
function gauss(rng: Prng): number {
  const u = 1 - rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/** Generates the stream, in time order; `faults` lists every fault injected (for tests and evaluation). */
export function wearableStream(opts: WearableOptions): { observations: fhir4.Observation[]; faults: WearableFault[] } {
  if (!Number.isSafeInteger(opts.start) || !Number.isSafeInteger(opts.durationMs) || opts.durationMs <= 0)
    throw new WearableError('start and durationMs must be integers, durationMs positive');
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(opts.patientId) || !/^[A-Za-z0-9\-.]{1,64}$/.test(opts.deviceId)) throw new WearableError('patientId and deviceId must be FHIR ids');
  const faultRate = opts.faultRate ?? 0.01;
  if (!(faultRate >= 0 && faultRate <= 1)) throw new WearableError('faultRate must be in [0, 1]');
  const atRisk = opts.profile === 'at-risk';
  const rng = new Prng(opts.seed >>> 0);
  const end = opts.start + opts.durationMs;

  // Activity bouts (walks), drawn up front so heart rate and steps agree with each other.
  const bouts: { from: number; to: number; intensity: number }[] = [];
  for (let t = opts.start; t < end;) {
    t += rng.exponential(atRisk ? 5 * HOUR : 2.5 * HOUR);
    if (asleep(t)) continue;
    const len = (10 + rng.int(50)) * 60_000;
    bouts.push({ from: t, to: t + len, intensity: 0.4 + rng.float() * (atRisk ? 0.4 : 0.6) });
    t += len;
  }
  const activity = (t: number): number => bouts.find((b) => t >= b.from && t < b.to)?.intensity ?? 0;

  const restingHr = (atRisk ? 82 : 64) + gauss(rng) * 4;
  const baseSpo2 = atRisk ? 94.5 : 97.5;
  const observations: fhir4.Observation[] = [];
  const faults: WearableFault[] = [];
  let seq = 0;
  let dropoutUntil = -Infinity;

  const emit = (signal: Signal, t: number, value: number | undefined): void => {
    const d = SIGNALS[signal];
    const o: fhir4.Observation = {
      resourceType: 'Observation',
      id: `${opts.deviceId}-${seq++}`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: d.category }] }],
      code: { coding: [{ system: 'http://loinc.org', code: d.code, display: d.display }] },
      subject: { reference: `Patient/${opts.patientId}` },
      device: { reference: `Device/${opts.deviceId}` },
      effectiveDateTime: new Date(t).toISOString(),
    };
    if (value === undefined) {
      o.dataAbsentReason = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'error' }] };
    } else {
      o.valueQuantity = { value, unit: d.unit, system: 'http://unitsofmeasure.org', code: d.ucum };
    }
    observations.push(o);
  };

  // All three signals are sampled on one minute grid so the stream comes out in time order.
  for (let t = opts.start; t < end; t += 60_000) {
    const a = activity(t);
    for (const signal of ['heart-rate', 'spo2', 'steps'] as const) {
      if ((t - opts.start) % SIGNALS[signal].periodMs !== 0) continue;
      if (t < dropoutUntil) continue;
      if (rng.chance(faultRate)) {
        const r = rng.float();
        const kind: FaultKind = r < 0.4 ? 'dropout' : r < 0.75 ? 'artifact' : 'sensor-error';
        faults.push({ kind, signal, time: t });
        if (kind === 'dropout') {
          // Lost Bluetooth link or a watch off the wrist: nothing from this device for 5 to 60 minutes.
          dropoutUntil = t + (5 + rng.int(56)) * 60_000;
          continue;
        }
        if (kind === 'sensor-error') {
          emit(signal, t, undefined);
          continue;
        }
        // Motion artifacts: values no body produces.
        emit(signal, t, signal === 'heart-rate' ? (rng.chance(0.5) ? 0 : 230 + rng.int(40)) : signal === 'spo2' ? 40 + rng.int(30) : 20_000 + rng.int(30_000));
        continue;
      }
      if (signal === 'heart-rate') {
        const circadian = asleep(t) ? -8 : 2 * Math.sin((2 * Math.PI * hourOf(t)) / 24);
        emit(signal, t, Math.round(restingHr + circadian + a * (atRisk ? 55 : 70) + gauss(rng) * 3));
      } else if (signal === 'spo2') {
        const dip = asleep(t) && atRisk && rng.chance(0.15) ? 4 + rng.int(4) : 0;
        emit(signal, t, Math.min(100, Math.round(baseSpo2 - dip + gauss(rng) * 1.2)));
      } else {
        const base = asleep(t) ? 0 : rng.int(atRisk ? 60 : 150);
        emit(signal, t, Math.round(base + a * (atRisk ? 900 : 1500) * (0.8 + 0.4 * rng.float())));
      }
    }
  }
  return { observations, faults };
}
