// The replica options a ReplicaStart implies; the composer adds its own (secret key, checkpoint interval,
// watermark window, batch size): `createReplica: (s) => new Replica({ ...replicaStartOptions(s), secretKey, … })`.

import type { ReplicaOptions } from '../../../../wasm/index.ts';
import type { ReplicaStart } from './types.ts';

export function replicaStartOptions(start: ReplicaStart): Pick<ReplicaOptions, 'validators' | 'self' | 'epoch' | 'resumeFrom'> {
  return {
    validators: start.epoch.validators.map((k) => k.slice()),
    self: start.self,
    epoch: {
      id: start.epoch.id,
      startSeq: start.epoch.since,
      startDigest: start.startDigest,
      ...(start.replicaState ? { replicaState: start.replicaState } : {}),
    },
    ...(start.resumeFrom ? { resumeFrom: { ...start.resumeFrom } } : {}),
  };
}
