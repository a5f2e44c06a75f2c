export { ConsensusNode, DEFAULT_TIMERS, systemClock, clientPayload } from './node.ts';
export type { Clock, ConsensusEvent, ConsensusNodeOptions, PayloadOf, ReplicaLike, StateTransferRejectReason, TimerPolicy } from './node.ts';
export { CHANNEL_PBFT, CHANNEL_STATE, FrameError, decodeStateMessage, encodeStateMessage, frame } from './frames.ts';
export type { StateMessage, StateReply, StateRequest } from './frames.ts';
