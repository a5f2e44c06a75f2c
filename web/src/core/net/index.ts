// The network's face for everything that does not open WebRTC connections itself: the Transport interface,
// the channel registry, the simulator, relay tokens and the relay's HTTP client. It never imports y-webrtc;
// pages that connect to peers import `net/webrtc.ts` as well.
export type { PeerId, PeerState, MessageHandler, PeerHandler, Transport } from './transport.ts';
export * from './channels.ts';
export { SimNetwork, SimNetworkError, VirtualClock, SystemScheduler, DEFAULT_LINK, WAN_LINK } from './sim-network.ts';
export type { Cancel, LinkProfile, Interceptor, Scheduler, SimNetworkOptions, SimNetworkStats } from './sim-network.ts';
export {
  createRelayToken,
  decodeRelayToken,
  checkRelayTokenClaims,
  checkRelayTokenSignature,
  verifyRelayToken,
  enrolmentScope,
  relayOrigin,
  withToken,
  RelayTokenError,
  RELAY_TOKEN_DOMAIN,
} from './relay-token.ts';
export type { DecodedRelayToken, RelayTokenInput, RelayTokenClaims, RelayTokenErrorCode, VerifyRelayTokenOptions } from './relay-token.ts';
export type { DropReason } from './handshake.ts';
export { DEFAULT_MAX_MESSAGE_BYTES } from './framing.ts';
export { RelayClient, RelayClientError, encodeBlockBatch, decodeBlockBatch, MAX_BLOCKS_PER_PUSH } from './relay-client.ts';
export type { RelayClientErrorCode, RelayClientOptions, RelayConfig, LedgerHead, PushResult } from './relay-client.ts';
