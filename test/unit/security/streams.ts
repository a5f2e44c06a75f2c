// Seeded synthetic event streams for the security layer's tests: a clinic's access log (clinicians with
// stable habits, a few night-shift workers, weekends) and a consortium's network log, with anomalies
// injected at known places. Patients are opaque ids; nothing here is patient data.
import { Prng } from '../../../web/src/core/util/index.ts';
import type { AccessEvent, NetworkEvent } from '../../../web/src/core/security/index.ts';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

export function gauss(p: Prng): number {
  const u = Math.max(p.float(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * p.float());
}

function poisson(p: Prng, mean: number): number {
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(p)));
}

export interface Injected {
  subject: string;
  window: number;
  expect: string;
}

export interface AccessStream {
  events: AccessEvent[];
  injected: Injected[];
  /** Every (requester, day) that had activity and no injected anomaly. */
  normalDays: Set<string>;
  days: number;
}

interface Clinician {
  id: string;
  mean: number;
  panel: string[];
  shiftStart: number;
  shiftHours: number;
}

/** `days` days of a clinic with `n` clinicians; anomalies on days >= 30 when `attacks`. */
export function accessStream(seed: number, n = 40, days = 40, attacks = true): AccessStream {
  const p = new Prng(seed);
  const clinicians: Clinician[] = [];
  for (let i = 0; i < n; i++) {
    const id = `clin-${String(i).padStart(2, '0')}`;
    const night = i % 13 === 12; // a few night-shift workers: high off-hours share, but stable
    clinicians.push({
      id,
      mean: 20 + p.int(40),
      panel: Array.from({ length: 40 + p.int(40) }, (_, k) => `pt-${id}-${k}`),
      shiftStart: night ? 20 : 7 + p.int(2),
      shiftHours: 9,
    });
  }
  const events: AccessEvent[] = [];
  const injected: Injected[] = [];
  const normalDays = new Set<string>();
  const push = (e: AccessEvent): void => void events.push(e);
  const inShift = (c: Clinician, day: number): number => {
    const h = (c.shiftStart + p.int(c.shiftHours)) % 24;
    return day * DAY + h * HOUR + p.int(HOUR);
  };
  for (let day = 0; day < days; day++) {
    const weekend = day % 7 >= 5;
    for (const c of clinicians) {
      const count = poisson(p, weekend ? c.mean * 0.4 : c.mean);
      for (let k = 0; k < count; k++) {
        // Mostly the clinician's panel; now and then a colleague's patient (a consult).
        const patient = p.chance(0.05) ? p.pick(p.pick(clinicians).panel) : p.pick(c.panel);
        const time = p.chance(0.03) ? day * DAY + p.int(DAY) : inShift(c, day);
        push({ time, requester: c.id, patient, granted: !p.chance(0.02), breakGlass: p.chance(0.002) });
      }
      if (count > 0) normalDays.add(`${c.id}/${day}`);
    }
    if (!attacks) continue;
    /** `count` events of `requester` today, the k-th as `event(k)` says, flagged in advance for `expect`. */
    const attack = (requester: string, expect: string, count: number, event: (k: number) => Omit<AccessEvent, 'requester'>): void => {
      for (let k = 0; k < count; k++) {
        const { time, ...rest } = event(k);
        push({ time, requester, ...rest });
      }
      injected.push({ subject: requester, window: day, expect });
      normalDays.delete(`${requester}/${day}`);
    };
    const [snooper, borrowed, emergency, prober] = [3, 7, 11, 15].map((i) => clinicians[i]!) as [Clinician, Clinician, Clinician, Clinician];
    // A snooper: 120 patients outside the panel, in working hours.
    if (day === 31) attack(snooper.id, 'patientBreadth', 120, (k) => ({ time: inShift(snooper, day), patient: `pt-other-${k}`, granted: true, breakGlass: false }));
    // Someone uses a day-shift clinician's account at night.
    if (day === 32)
      attack(borrowed.id, 'offHoursShare', 40, () => ({
        time: day * DAY + (1 + p.int(3)) * HOUR + p.int(HOUR),
        patient: p.pick(borrowed.panel),
        granted: true,
        breakGlass: false,
      }));
    if (day === 33) attack(emergency.id, 'breakGlass', 6, (k) => ({ time: inShift(emergency, day), patient: `pt-emergency-${k}`, granted: true, breakGlass: true }));
    // Probing for records the clinician has no consent for: mostly denied.
    if (day === 34) attack(prober.id, 'denialRatio', 40, (k) => ({ time: inShift(prober, day), patient: `pt-probe-${k}`, granted: false, breakGlass: false }));
    // A new, never-seen account harvesting at night: judged against the population.
    if (day === 35)
      attack('intruder', 'patientBreadth', 200, (k) => ({ time: day * DAY + p.int(5) * HOUR + p.int(HOUR), patient: `pt-any-${k}`, granted: p.chance(0.5), breakGlass: false }));
  }
  events.sort((a, b) => a.time - b.time || (a.requester < b.requester ? -1 : a.requester > b.requester ? 1 : 0));
  return { events, injected, normalDays, days };
}

export interface NetworkStream {
  events: NetworkEvent[];
  injected: Injected[];
  normalWindows: Set<string>;
}

/** `windows` minutes of a consortium of `n` peers; anomalies from minute 80 when `attacks`. */
export function networkStream(seed: number, n = 10, windows = 120, attacks = true): NetworkStream {
  const p = new Prng(seed);
  const peers = Array.from({ length: n }, (_, i) => `peer${String(i).padStart(2, '0')}`);
  const events: NetworkEvent[] = [];
  const injected: Injected[] = [];
  const normalWindows = new Set<string>();
  for (let w = 0; w < windows; w++) {
    const active = w >= 60 ? [...peers, 'late-joiner'] : peers;
    for (const peer of active) {
      const t = w * MINUTE + p.int(MINUTE);
      events.push({ time: t, peer, kind: 'message', count: poisson(p, 300) });
      if (p.chance(0.2)) events.push({ time: t, peer, kind: 'rejected', count: 1 + p.int(2) });
      normalWindows.add(`${peer}/${w}`);
    }
    if (!attacks) continue;
    const inject = (peer: string, expect: string, e: Omit<NetworkEvent, 'peer' | 'time'>): void => {
      events.push({ time: w * MINUTE + p.int(MINUTE), peer, ...e });
      injected.push({ subject: peer, window: w, expect });
      normalWindows.delete(`${peer}/${w}`);
    };
    if (w === 80) inject(peers[2]!, 'messageRate', { kind: 'message', count: 3000 });
    if (w === 90) inject(peers[5]!, 'invalidSignatures', { kind: 'invalid-signature', count: 5 });
    if (w === 100) inject(peers[7]!, 'equivocations', { kind: 'equivocation' });
    if (w === 110) inject(peers[8]!, 'rejectedMessages', { kind: 'rejected', count: 40 });
  }
  events.sort((a, b) => a.time - b.time || (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  return { events, injected, normalWindows };
}
