// Audio and video on an authenticated peer link (the consult screen). The tracks ride the same
// RTCPeerConnection whose DTLS certificates the handshake bound to the member's key, so the media is
// encrypted to the authenticated peer (SRTP keys come from that DTLS session). simple-peer renegotiates when a
// track is added or removed, through y-webrtc's signaling; renegotiation cannot change the DTLS session
// without breaking the data channel, which drops the link.
//
// The link's quality comes from getStats: round-trip time on the selected candidate pair, packet loss on
// incoming media, and the candidate types (a 'relay' pair means the traffic goes through TURN), so a consult
// can degrade to audio or chat and say why.

import type { PeerId } from './transport.ts';

export type TrackHandler = (peer: PeerId, track: MediaStreamTrack, stream: MediaStream) => void;

/** The part of simple-peer that carries media. */
export interface MediaPeer {
  addTrack(track: MediaStreamTrack, stream: MediaStream): void;
  removeTrack(track: MediaStreamTrack, stream: MediaStream): void;
}

export class LinkMedia {
  private readonly sent = new Set<{ track: MediaStreamTrack; stream: MediaStream }>();

  constructor(private readonly peer: MediaPeer) {}

  /** Sends every track of `stream`; the handle stops sending them. */
  add(stream: MediaStream): { remove(): void } {
    const added: { track: MediaStreamTrack; stream: MediaStream }[] = [];
    for (const track of stream.getTracks()) {
      this.peer.addTrack(track, stream);
      const entry = { track, stream };
      this.sent.add(entry);
      added.push(entry);
    }
    return {
      remove: () => {
        for (const e of added) this.remove(e);
      },
    };
  }

  /** The link closed: forget the tracks (the peer connection that carried them is gone). */
  dispose(): void {
    this.sent.clear();
  }

  private remove(entry: { track: MediaStreamTrack; stream: MediaStream }): void {
    if (!this.sent.delete(entry)) return;
    try {
      this.peer.removeTrack(entry.track, entry.stream);
    } catch {
      // The connection is already closed.
    }
  }
}

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface LinkQuality {
  /** Current round-trip time on the selected candidate pair, ms (null before the first measurement). */
  readonly rttMs: number | null;
  /** Fraction of incoming media packets lost so far, 0..1 (null without incoming media). */
  readonly packetLoss: number | null;
  /** The sender's bandwidth estimate, bits per second (null if the browser gives none). */
  readonly availableOutgoingBitrate: number | null;
  readonly localCandidateType: CandidateType | null;
  readonly remoteCandidateType: CandidateType | null;
}

interface StatsEntry {
  type?: string;
  [k: string]: unknown;
}

/** Reads a link's quality from an RTCStatsReport (a Map of stats by id). */
function qualityFromStats(stats: { get(id: string): unknown; values(): Iterable<unknown> }): LinkQuality {
  let pair: StatsEntry | null = null;
  let lost = 0;
  let received = 0;
  let sawMedia = false;
  for (const raw of stats.values()) {
    const s = raw as StatsEntry;
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      pair = (stats.get(s.selectedCandidatePairId) as StatsEntry | undefined) ?? pair;
    } else if (s.type === 'candidate-pair' && !pair && s.nominated === true && s.state === 'succeeded') {
      pair = s;
    } else if (s.type === 'inbound-rtp') {
      sawMedia = true;
      lost += num(s.packetsLost) ?? 0;
      received += num(s.packetsReceived) ?? 0;
    }
  }
  const rtt = pair ? num(pair.currentRoundTripTime) : null;
  const candidate = (id: unknown): CandidateType | null => {
    const c = typeof id === 'string' ? (stats.get(id) as StatsEntry | undefined) : undefined;
    const t = c?.candidateType;
    return t === 'host' || t === 'srflx' || t === 'prflx' || t === 'relay' ? t : null;
  };
  return {
    rttMs: rtt === null ? null : Math.round(rtt * 1000 * 10) / 10,
    packetLoss: sawMedia && lost + received > 0 ? Math.max(0, lost) / (Math.max(0, lost) + received) : null,
    availableOutgoingBitrate: pair ? num(pair.availableOutgoingBitrate) : null,
    localCandidateType: pair ? candidate(pair.localCandidateId) : null,
    remoteCandidateType: pair ? candidate(pair.remoteCandidateId) : null,
  };
}

export async function linkQuality(pc: RTCPeerConnection): Promise<LinkQuality> {
  return qualityFromStats(await pc.getStats());
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
