// The first byte of every message on a Transport names the subsystem it belongs to. One transport carries
// them all, so each subsystem reads only its own channel and ignores the others; a byte not listed here is
// nobody's and is dropped by everyone. The letters make frames readable in a hex dump.

export const CHANNEL_GREETING = 0x47; // 'G' node greetings (liveness, identity display)
export const CHANNEL_PBFT = 0x50; // 'P' consensus messages (the replica's signed bytes)
export const CHANNEL_STATE = 0x53; // 'S' state transfer (blocks, snapshots)
export const CHANNEL_ATTEST = 0x41; // 'A' block attestations
export const CHANNEL_RELEASE = 0x52; // 'R' record release between clinics
export const CHANNEL_FL = 0x46; // 'F' federated learning
export const CHANNEL_PATIENT = 0x4c; // 'L' the patient <-> clinic protocol
export const CHANNEL_CONSULT = 0x43; // 'C' consult signalling
export const CHANNEL_REQUEST = 0x51; // 'Q' client requests a member sends to the validators to order

export const CHANNELS = {
  greeting: CHANNEL_GREETING,
  pbft: CHANNEL_PBFT,
  state: CHANNEL_STATE,
  attest: CHANNEL_ATTEST,
  release: CHANNEL_RELEASE,
  fl: CHANNEL_FL,
  patient: CHANNEL_PATIENT,
  consult: CHANNEL_CONSULT,
  request: CHANNEL_REQUEST,
} as const;

export type ChannelName = keyof typeof CHANNELS;
export type Channel = (typeof CHANNELS)[ChannelName];

const BY_BYTE = new Map<number, ChannelName>(Object.entries(CHANNELS).map(([name, byte]) => [byte, name as ChannelName]));

/** The channel a message belongs to, or null for an empty message or an unknown first byte. */
export function channelOf(message: Uint8Array): ChannelName | null {
  if (message.length === 0) return null;
  return BY_BYTE.get(message[0]!) ?? null;
}

/** `channel ‖ payload`: a message for `channel` (one copy of the payload). */
export function onChannel(channel: Channel, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = channel;
  out.set(payload, 1);
  return out;
}

/** The payload of a message on `channel`, or null if the message is on another channel. A view, not a copy. */
export function payloadOn(channel: Channel, message: Uint8Array): Uint8Array | null {
  return message.length > 0 && message[0] === channel ? message.subarray(1) : null;
}
