export { ConsensusNode } from './node.ts';
export { applyBatch, clientPayload } from './apply.ts';
export type { ConsensusNodeOptions } from './node.ts';
export { DEFAULT_TIMERS, SKIPPED_DUPLICATE, UNDECODABLE, systemClock } from './types.ts';
export type { Clock, ConsensusEvent, CreateReplica, PayloadOf, ReplicaLike, ReplicaStart, ResumeStopReason, StateTransferRejectReason, TimerPolicy } from './types.ts';
export { PeerRotation } from './state-transfer.ts';
export { CHANNEL_PBFT, CHANNEL_STATE, FrameError, decodeStateMessage, encodeStateMessage, frame } from './frames.ts';
export type { StateMessage, StateReply, StateRequest } from './frames.ts';
