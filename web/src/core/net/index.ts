// The network's face for everything that does not open WebRTC connections itself: the Transport interface,
// the channel registry, the simulator, relay tokens and the relay's HTTP client. It never imports y-webrtc;
// pages that connect to peers import `net/webrtc.ts` as well.
export type { PeerId, PeerState, MessageHandler, PeerHandler, Transport } from './transport.ts';
export * from './channels.ts';
export { SimNetwork, SimNetworkError, VirtualClock, DEFAULT_LINK } from './sim-network.ts';
export type { Cancel, LinkProfile, Interceptor, SimNetworkOptions, SimNetworkStats } from './sim-network.ts';
export { createRelayToken, decodeRelayToken, verifyRelayToken, relayOrigin, withToken, RelayTokenError, RELAY_TOKEN_DOMAIN } from './relay-token.ts';
export type { RelayTokenInput, RelayTokenClaims, RelayTokenErrorCode, VerifyRelayTokenOptions } from './relay-token.ts';
export type { DropReason } from './handshake.ts';
export { DEFAULT_MAX_MESSAGE_BYTES } from './framing.ts';
