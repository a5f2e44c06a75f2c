// The numbers that cross the wasm boundary between the replica and its face are written once, in the tables
// of wasm/gen/boundary.json, and generated into wasm/assembly/pbft/boundary.ts and wasm/face/replica-boundary.ts.
// The files must be the tables' current output, agree name for name and value for value, and the built replica
// must speak the same numbers at run time.
import { describe, expect, it } from 'vitest';
import * as face from '../../../wasm/face/replica-boundary.ts';
import { Replica, ReplicaError } from '../../../wasm/face/replica.ts';
import { assemblyEnums, generated } from '../shared/assembly-enums.ts';
import { request, seedOf, useClusters } from './cluster.ts';

const ASSEMBLY = 'wasm/assembly/pbft/boundary.ts';
const TYPESCRIPT = 'wasm/face/replica-boundary.ts';
const cluster = useClusters();

describe('the replica boundary', () => {
  for (const path of [ASSEMBLY, TYPESCRIPT]) {
    it(`${path} is what the tables make now (else run node wasm/gen/all.mjs)`, () => {
      const { onDisk, fromTables } = generated(path);
      expect(onDisk).toBe(fromTables);
    });
  }

  const assembly = assemblyEnums(ASSEMBLY);

  it('names the same tables on both sides', () => {
    expect(Object.keys(assembly).sort()).toEqual(Object.keys(face).sort());
  });

  for (const [name, table] of Object.entries(face)) {
    it(`${name}: every member has the same value in AssemblyScript and TypeScript`, () => {
      expect(assembly[name]).toEqual({ ...table });
    });
  }

  it('is what the built wasm replica speaks: create errors, actions, reject reasons and info codes', () => {
    const c = cluster({ n: 4, maxBatch: 1, maxMessageBytes: 2048 });
    // CreateError.BadKey: a seed that is not validator 0's key.
    const options = { validators: c.keys, self: 0, secretKey: seedOf(99), checkpointInterval: 4, watermarkWindow: 8, maxBatch: 1 };
    expect(() => new Replica(options)).toThrow(new ReplicaError('badKey', 'secretKey is not the key of validator `self`'));
    // EventKind.Message in, ActionKind.Rejected out, with Reject.Oversize and Reject.Malformed (a wire type of 99).
    expect(c.step(0, { kind: 'message', bytes: new Uint8Array(4096), now: c.now, from: 1 })).toEqual([{ kind: 'rejected', reason: 'oversize', from: -1 }]);
    expect(c.step(1, { kind: 'message', bytes: new Uint8Array([99, 0]), now: c.now, from: 2 })).toEqual([{ kind: 'rejected', reason: 'malformed', from: -1 }]);
    // EventKind.Request, Timer and Executed with the normal case's actions; then every InfoCode: six batches
    // executed, the checkpoint at 4 stable (seqs 5 and 6 left in the log), nothing pending, view 0, primary 0.
    for (let seq = 1; seq <= 6; seq++) c.submit(request(1, seq));
    c.settle();
    for (const r of c.replicas) {
      const info = [r.view, r.primary, r.lastExecuted, r.lowWatermark, r.changingView, r.logSize, r.pendingRequests, r.bufferedMessages];
      expect(info).toEqual([0, 0, 6, 4, false, 2, 0, 0]);
    }
  });
});
