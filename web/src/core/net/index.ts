export type { PeerId, PeerState, MessageHandler, PeerHandler, Transport } from './transport.ts';
