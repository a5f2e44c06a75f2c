export type { PeerId, PeerState, MessageHandler, PeerHandler, Transport } from './transport.ts';
export { SimNetwork, SimNetworkError, VirtualClock, DEFAULT_LINK } from './sim-network.ts';
export type { Cancel, LinkProfile, Interceptor, SimNetworkOptions, SimNetworkStats } from './sim-network.ts';
export { Prng } from './prng.ts';
