// The WebRTC face: the transport a page uses to reach its peers (it brings y-webrtc, Yjs and simple-peer).
export { WebRtcTransport, WebRtcTransportError, APP_CHANNEL_ID } from './webrtc-transport.ts';
export type { WebRtcTransportOptions, RelayState } from './webrtc-transport.ts';
export type { LinkQuality, CandidateType, TrackHandler } from './link-media.ts';
