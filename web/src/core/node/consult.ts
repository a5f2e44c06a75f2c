// A live consult (the telemedicine gateway): camera and microphone on the same authenticated peer link as the
// ledger's traffic, a chat beside them, and a mode that steps down (video → audio → chat) when the link is weak
// and says why. Both ends run a ConsultSession; the clinic's records the consult afterwards as an Encounter.
//
// Chat frames (channel C): uint(0x43) ‖ str(consultId) ‖ str(text). The invitation, the answer and the end
// travel on the patient protocol (channel L).
import { Reader, Writer } from '../codec/index.ts';
import type { PeerId } from '../net/transport.ts';
import type { ConsultSession, ConsultState } from './api.ts';

export const CHANNEL_CONSULT = 0x43; // 'C'
const MAX_CHAT = 2000;

/** The media side of a transport (WebRtcTransport has it; the simulator does not: consults are chat-only). */
export interface MediaLink {
  addMedia(peer: PeerId, stream: MediaStream): { remove(): void };
  onTrack(handler: (peer: PeerId, track: MediaStreamTrack, stream: MediaStream) => void): () => void;
  linkQuality(peer: PeerId): Promise<{ rttMs: number | null; packetLoss: number | null } | null>;
}

export function encodeChat(consultId: string, text: string): Uint8Array {
  const w = new Writer(64 + text.length);
  w.uint(CHANNEL_CONSULT);
  w.str(consultId);
  w.str(text.slice(0, MAX_CHAT));
  return w.finish();
}

export function decodeChat(frame: Uint8Array): { consultId: string; text: string } | null {
  const r = new Reader(frame, 16_384);
  if (r.uint() !== CHANNEL_CONSULT) return null;
  const consultId = r.str(64);
  const text = r.str(MAX_CHAT * 4);
  return r.end() ? { consultId, text } : null;
}

/** Thresholds of a weak link (round-trip ms, packet loss fraction): audio below the first, chat below the second. */
const AUDIO_ONLY = { rttMs: 400, loss: 0.08 };
const CHAT_ONLY = { rttMs: 1500, loss: 0.3 };

export interface ConsultPeer {
  readonly consultId: string;
  readonly peer: PeerId;
  readonly selfName: string;
  readonly send: (bytes: Uint8Array) => void;
  readonly media: MediaLink | null;
  readonly local: MediaStream | null;
  /** Called once when either side ends it; the clinic's side records the Encounter here. */
  readonly onEnd: () => Promise<{ encounterId: string | null }>;
}

export class LiveConsult implements ConsultSession {
  readonly consultId: string;
  private s: ConsultState;
  private readonly listeners = new Set<(s: ConsultState) => void>();
  private sending: { remove(): void } | null = null;
  private readonly untrack: () => void;
  private monitor: ReturnType<typeof setInterval> | null = null;
  private ended: Promise<{ encounterId: string | null }> | null = null;

  constructor(private readonly p: ConsultPeer) {
    this.consultId = p.consultId;
    const hasVideo = (p.local?.getVideoTracks().length ?? 0) > 0;
    const hasAudio = (p.local?.getAudioTracks().length ?? 0) > 0;
    const mode: ConsultState['mode'] = p.media && hasVideo ? 'video' : p.media && hasAudio ? 'audio' : 'chat';
    const modeReason =
      mode === 'chat'
        ? p.media
          ? 'No camera or microphone is available: chat only.'
          : 'This connection carries no media: chat only.'
        : mode === 'audio'
          ? 'No camera is available: audio only.'
          : null;
    this.s = { phase: 'connecting', mode, modeReason, remote: null, messages: [] };
    this.untrack = p.media
      ? p.media.onTrack((peer, _track, stream) => {
          if (peer !== p.peer) return;
          this.set({ remote: stream, phase: 'live' });
        })
      : () => {};
  }

  /** Starts sending media (after the other side accepted) and watching the link. */
  begin(): void {
    if (this.p.media && this.p.local && this.s.mode !== 'chat') this.sending = this.p.media.addMedia(this.p.peer, this.p.local);
    this.set({ phase: this.s.mode === 'chat' ? 'live' : this.s.phase });
    if (this.p.media) this.monitor = setInterval(() => void this.watch(), 2000);
  }

  private async watch(): Promise<void> {
    const q = await this.p.media?.linkQuality(this.p.peer);
    if (!q || this.s.phase === 'ended') return;
    const rtt = q.rttMs ?? 0;
    const loss = q.packetLoss ?? 0;
    if (this.s.mode !== 'chat' && (rtt > CHAT_ONLY.rttMs || loss > CHAT_ONLY.loss)) {
      this.sending?.remove();
      this.sending = null;
      this.set({ mode: 'chat', modeReason: `The connection is very weak (${Math.round(rtt)} ms, ${Math.round(loss * 100)} % lost): continuing in chat.` });
    } else if (this.s.mode === 'video' && (rtt > AUDIO_ONLY.rttMs || loss > AUDIO_ONLY.loss)) {
      for (const t of this.p.local?.getVideoTracks() ?? []) t.enabled = false;
      this.set({ mode: 'audio', modeReason: `The connection is weak (${Math.round(rtt)} ms, ${Math.round(loss * 100)} % lost): continuing with audio only.` });
    }
  }

  state(): ConsultState {
    return this.s;
  }

  subscribe(fn: (s: ConsultState) => void): () => void {
    this.listeners.add(fn);
    fn(this.s);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<ConsultState>): void {
    this.s = { ...this.s, ...patch };
    for (const l of this.listeners) l(this.s);
  }

  sendChat(text: string): void {
    const t = text.trim();
    if (!t || this.s.phase === 'ended') return;
    this.p.send(encodeChat(this.consultId, t));
    this.received(this.p.selfName, t);
  }

  received(from: string, text: string): void {
    this.set({ messages: [...this.s.messages, { from, text, time: Date.now() }], phase: this.s.phase === 'connecting' && this.s.mode === 'chat' ? 'live' : this.s.phase });
  }

  /** Ends the consult (idempotent); the clinic's side returns the Encounter it recorded. */
  end(): Promise<{ encounterId: string | null }> {
    if (!this.ended) {
      this.sending?.remove();
      this.sending = null;
      if (this.monitor) clearInterval(this.monitor);
      this.untrack();
      for (const t of this.p.local?.getTracks() ?? []) t.stop();
      this.set({ phase: 'ended' });
      this.ended = this.p.onEnd();
    }
    return this.ended;
  }

  fail(reason: string): void {
    this.set({ phase: 'failed', modeReason: reason });
  }
}
