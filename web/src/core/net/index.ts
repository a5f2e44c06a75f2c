export type { PeerId, PeerState, MessageHandler, PeerHandler, Transport } from './transport.ts';
export { SimNetwork, SimNetworkError, VirtualClock, DEFAULT_LINK } from './sim-network.ts';
export type { Cancel, LinkProfile, Interceptor, SimNetworkOptions, SimNetworkStats } from './sim-network.ts';
export { createRelayToken, decodeRelayToken, verifyRelayToken, relayOrigin, withToken, RelayTokenError, RELAY_TOKEN_DOMAIN } from './relay-token.ts';
export type { RelayTokenInput, RelayTokenClaims, RelayTokenErrorCode, VerifyRelayTokenOptions } from './relay-token.ts';
export { Handshake, HANDSHAKE_DOMAIN, sdpFingerprint } from './handshake.ts';
export type { HandshakeFailure, HandshakeOptions, HandshakeOutput } from './handshake.ts';
export { WebRtcTransport, WebRtcTransportError, APP_CHANNEL_ID } from './webrtc-transport.ts';
export type { WebRtcTransportOptions, RelayState } from './webrtc-transport.ts';
