// Update latency under one delay model for all three: every clinic (and the EHR server) on a SimNetwork
// whose links are WAN_LINK (20-80 ms one way, seeded uniform jitter, in order), played out in real time
// (SystemScheduler), so a database commit or a PBFT round costs what it really costs on this machine. An
// update's latency runs from the moment the writing clinic starts it to the moment it is durably committed
// and every other clinic can see it. Updates run one after another.
import { SimNetwork, SystemScheduler, WAN_LINK } from '../net/sim-network.ts';
import type { Transport } from '../net/transport.ts';
import type { RecordUpdate, Workload } from './workload.ts';

export const DELAY_MODEL = 'WAN_LINK: 20-80 ms one way per message, seeded uniform jitter, FIFO per direction, real time';

const SERVER = 'ehr-server';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function wanNetwork(seed: number): SimNetwork<SystemScheduler> {
  return new SimNetwork({ seed, link: WAN_LINK, clock: new SystemScheduler() });
}

/**
 * Centralized: the clinic sends the update to the EHR server, which commits it (`commit`, a real database
 * transaction), acknowledges it to the writer and notifies the other clinics; done when the writer has its
 * acknowledgement and every other clinic its notice.
 */
export async function centralizedLatency(w: Workload, commit: (u: RecordUpdate) => Promise<void>): Promise<number[]> {
  const net = wanNetwork(w.seed);
  const server = net.join(SERVER);
  const clinics = new Map(w.clinics.map((c) => [c, net.join(c)]));
  server.onMessage((from, bytes) => {
    const u = w.updates[Number(dec(bytes))]!;
    void commit(u).then(() => {
      server.send(from, bytes);
      for (const c of w.clinics) if (c !== from) server.send(c, bytes);
    });
  });
  return measure(
    w,
    clinics,
    (writer, i) => clinics.get(writer)!.send(SERVER, enc(String(i))),
    async () => {
      for (const t of [server, ...clinics.values()]) await t.close();
    },
  );
}

/**
 * Federated: the writing clinic commits the update in its own database, then tells every other clinic a new
 * version exists (the records stay where they are); done when every other clinic has the notice.
 */
export async function federatedLatency(w: Workload, commit: (u: RecordUpdate) => Promise<void>): Promise<number[]> {
  const net = wanNetwork(w.seed);
  const clinics = new Map(w.clinics.map((c) => [c, net.join(c)]));
  return measure(
    w,
    clinics,
    (writer, i, mark) => {
      void commit(w.updates[i]!).then(() => {
        mark(writer);
        const t = clinics.get(writer)!;
        for (const c of w.clinics) if (c !== writer) t.send(c, enc(String(i)));
      });
    },
    async () => {
      for (const t of clinics.values()) await t.close();
    },
  );
}

/** Runs the updates one by one: `start` sends update i from its writer; each clinic's first copy of i counts once. */
async function measure(
  w: Workload,
  clinics: Map<string, Transport>,
  start: (writer: string, i: number, mark: (clinic: string) => void) => void,
  close: () => Promise<void>,
): Promise<number[]> {
  const out: number[] = [];
  let waiting: { i: number; seen: Set<string>; done: () => void } | null = null;
  const mark = (i: number, c: string): void => {
    if (waiting === null || waiting.i !== i) return;
    waiting.seen.add(c);
    if (waiting.seen.size === clinics.size) waiting.done();
  };
  for (const [c, t] of clinics) t.onMessage((_from, bytes) => mark(Number(dec(bytes)), c));
  try {
    for (const [i, u] of w.updates.entries()) {
      const writer = w.patients[u.patient]!.clinic;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        waiting = { i, seen: new Set(), done: resolve };
        start(writer, i, (c) => mark(i, c));
      });
      out.push(performance.now() - t0);
    }
  } finally {
    await close();
  }
  return out;
}
