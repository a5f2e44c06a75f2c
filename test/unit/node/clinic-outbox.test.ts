// The worker-hosted node's outbox (clinic-outbox.ts) and the errors that cross the port (clinic-wire.ts): a
// task's messages leave together, snapshots at most every SNAPSHOT_MS and always before a result, a result
// that cannot be cloned fails alone, and a NodeError reaches the page with its code.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NodeError, type ClinicSnapshot } from '../../../web/src/core/node/api.ts';
import { Outbox, SNAPSHOT_MS } from '../../../web/src/core/node/clinic-outbox.ts';
import { fromWireError, toWireError, type FromWorker } from '../../../web/src/core/node/clinic-wire.ts';

/** An endpoint that clones what it is given, as postMessage does (and refuses what postMessage refuses). */
function endpoint(): { ep: { postMessage(m: unknown, t?: Transferable[]): void; addEventListener(): void }; got: FromWorker[] } {
  const got: FromWorker[] = [];
  return { ep: { postMessage: (m) => got.push(structuredClone(m) as FromWorker), addEventListener: () => {} }, got };
}
const snap = (height: number): ClinicSnapshot => ({ ledger: { height } }) as unknown as ClinicSnapshot;
const kinds = (ms: FromWorker[]): string[] => ms.flatMap((m) => (m.t === 'batch' ? [`batch(${kinds(m.messages).join(',')})`] : [m.t]));
const tick = (): Promise<void> => new Promise((r) => queueMicrotask(r));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Outbox', () => {
  it('sends what one task posts as one batch, in order, and a lone message as itself', async () => {
    const { ep, got } = endpoint();
    const o = new Outbox(ep);
    o.post({ t: 'send', room: 'members', to: 'b', bytes: new Uint8Array([1]) });
    o.post({ t: 'send', room: 'members', to: null, bytes: new Uint8Array([2]) });
    expect(got).toEqual([]);
    await tick();
    expect(kinds(got)).toEqual(['batch(send,send)']);
    o.post({ t: 'consult-ended', consultId: 'x' });
    await tick();
    expect(kinds(got)).toEqual(['batch(send,send)', 'consult-ended']);
  });

  it('sends the newest snapshot at most once per SNAPSHOT_MS', async () => {
    const { ep, got } = endpoint();
    const o = new Outbox(ep);
    o.snapshotChanged(snap(1));
    await vi.advanceTimersByTimeAsync(0);
    for (let h = 2; h <= 5; h++) o.snapshotChanged(snap(h));
    await vi.advanceTimersByTimeAsync(SNAPSHOT_MS - 1);
    expect(got.map((m) => (m.t === 'snapshot' ? m.snapshot.ledger.height : -1))).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(got.map((m) => (m.t === 'snapshot' ? m.snapshot.ledger.height : -1))).toEqual([1, 5]);
  });

  it('sends a waiting snapshot and the queued messages before a result, and the result alone', async () => {
    const { ep, got } = endpoint();
    const o = new Outbox(ep);
    o.snapshotChanged(snap(1));
    await vi.advanceTimersByTimeAsync(0);
    o.snapshotChanged(snap(2));
    o.post({ t: 'send', room: 'members', to: 'b', bytes: new Uint8Array([1]) });
    o.result({ t: 'result', id: 7, ok: true, value: 'done' });
    expect(kinds(got)).toEqual(['snapshot', 'batch(send,snapshot)', 'result']);
    const batch = got[1] as Extract<FromWorker, { t: 'batch' }>;
    expect(batch.messages[1]).toMatchObject({ t: 'snapshot', snapshot: { ledger: { height: 2 } } });
    await vi.advanceTimersByTimeAsync(SNAPSHOT_MS * 2);
    expect(got).toHaveLength(3);
  });

  it('answers a result the port cannot carry with an error for that call only', async () => {
    const { ep, got } = endpoint();
    const o = new Outbox(ep);
    o.post({ t: 'send', room: 'members', to: 'b', bytes: new Uint8Array([1]) });
    o.result({ t: 'result', id: 3, ok: true, value: { f: () => 1 } });
    expect(got[0]).toMatchObject({ t: 'send' });
    expect(got[1]).toMatchObject({ t: 'result', id: 3, ok: false, error: { name: 'DataCloneError' } });
  });
});

describe('errors across the port', () => {
  it('keeps a NodeError’s code and message, and another error’s name and first line', () => {
    const back = fromWireError(structuredClone(toWireError(new NodeError('rejected', 'The ledger refused it (no-consent).'))));
    expect(back).toBeInstanceOf(NodeError);
    expect(back).toMatchObject({ code: 'rejected', message: 'The ledger refused it (no-consent).' });
    const quota = new Error('storage is full\nat line 3');
    quota.name = 'QuotaExceededError';
    expect(fromWireError(toWireError(quota))).toMatchObject({ name: 'QuotaExceededError', message: 'storage is full' });
    expect(fromWireError(toWireError('plain'))).toMatchObject({ name: 'Error', message: 'plain' });
  });
});
