export { ConsensusNode } from './node.ts';
export { applyBatch, clientPayload } from './apply.ts';
export type { ConsensusNodeOptions } from './node.ts';
export { DEFAULT_TIMERS, SKIPPED_DUPLICATE, UNDECODABLE, systemClock } from './types.ts';
export type { Clock, ConsensusEvent, CreateReplica, PayloadOf, ReplicaLike, ReplicaStart, ResumeStopReason, StateTransferRejectReason, TimerPolicy } from './types.ts';
export { Backoff, PeerRotation } from './backoff.ts';
export { FrameError, decodeAttestMessage, decodePbftPayload, decodeStateMessage, encodeAttestMessage, encodeStateMessage, pbftFrame } from './frames.ts';
// The channels this subsystem speaks on (net/channels.ts owns the registry).
export { CHANNEL_ATTEST, CHANNEL_PBFT, CHANNEL_STATE } from '../net/index.ts';
export { replicaStartOptions } from './replica-start.ts';
export type { AttestationRejectReason } from './attestations.ts';
export type { AttestMessage, StateMessage, StateReply, StateRequest } from './frames.ts';
