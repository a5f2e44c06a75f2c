// The composition root a page uses to bring this node up: the wasm core, the node's identity, its consortium
// membership (checked with the relay), and the WebRTC transport to its peers. It keeps a plain snapshot of all
// that for the UI (ui/ renders it; no protocol logic lives there).

import { initCore } from '../../../../wasm/index.ts';
import { createRelayToken } from '../net/relay-token.ts';
import { WebRtcTransport, type RelayState } from '../net/webrtc-transport.ts';
import type { PeerId, PeerState } from '../net/transport.ts';
import { checkGreeting, encodeGreeting } from './greeting.ts';
import { loadOrCreateIdentity, type NodeIdentity } from './identity.ts';

export const CONSORTIUM_ROOM = 'hygeia/consortium/v1';

export type MembershipState = 'checking' | 'member' | 'enrolling' | 'refused' | 'unreachable';

export interface PeerView {
  readonly id: PeerId;
  readonly name: string | null;
  readonly state: PeerState;
  readonly greetingsVerified: number;
  readonly greetingsRejected: number;
  readonly lastMessageAt: number | null;
}

export interface NodeSnapshot {
  readonly id: PeerId;
  readonly createdAt: number;
  readonly membership: MembershipState;
  /** Why the relay refused us (a reason code, never a token). */
  readonly refusal: string | null;
  readonly memberName: string | null;
  readonly relay: RelayState | 'idle';
  readonly peers: readonly PeerView[];
}

export interface PeerNodeOptions {
  /** The relay's ws:// or wss:// URL (default: this page's origin). */
  readonly relayUrl?: string;
  readonly room?: string;
  /** How often membership is re-checked while refused or unreachable (default 2 s; 15x that once a member). */
  readonly recheckMs?: number;
}

interface MembersResponse {
  you: { name: string; publicKey: string };
  members: { name: string; publicKey: string }[];
}

export class PeerNode {
  private membership: MembershipState = 'checking';
  private refusal: string | null = null;
  private memberName: string | null = null;
  private names = new Map<string, string>();
  private main: WebRtcTransport | null = null;
  private readonly peerViews = new Map<PeerId, PeerView>();
  private readonly listeners = new Set<(s: NodeSnapshot) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  private closed = false;
  private readonly relayUrl: string;
  private readonly httpBase: string;

  private constructor(
    readonly identity: NodeIdentity,
    private readonly opts: PeerNodeOptions,
  ) {
    this.relayUrl = opts.relayUrl ?? location.origin.replace(/^http/, 'ws');
    this.httpBase = this.relayUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  }

  /** Loads the core and the identity, then joins the consortium in the background. */
  static async start(opts: PeerNodeOptions = {}): Promise<PeerNode> {
    await initCore();
    const identity = await loadOrCreateIdentity();
    const node = new PeerNode(identity, opts);
    void node.checkMembership();
    return node;
  }

  snapshot(): NodeSnapshot {
    return {
      id: this.identity.id,
      createdAt: this.identity.createdAt,
      membership: this.membership,
      refusal: this.refusal,
      memberName: this.memberName,
      relay: this.main ? this.main.relayState : 'idle',
      peers: [...this.peerViews.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    };
  }

  subscribe(fn: (s: NodeSnapshot) => void): () => void {
    this.listeners.add(fn);
    fn(this.snapshot());
    return () => this.listeners.delete(fn);
  }

  /** Sends a signed greeting to every connected peer; returns how many. */
  greetAll(): number {
    if (!this.main) return 0;
    const peers = this.main.peers();
    for (const p of peers) this.greet(p);
    return peers.length;
  }

  /** The transport to the consortium's peers, once this node is a member. */
  get transport(): WebRtcTransport | null {
    return this.main;
  }

  /**
   * Opens another transport under this node's identity, in its own room (a separate overlay, e.g. for one
   * protocol or a test). The caller closes it.
   */
  openTransport(room: string): WebRtcTransport {
    if (room === (this.opts.room ?? CONSORTIUM_ROOM)) throw new RangeError("that room is the node's own");
    return new WebRtcTransport({
      secretKey: this.identity.secretKey,
      relayUrl: this.relayUrl,
      room,
      isMember: (p) => this.names.has(p),
      banMs: 10_000,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.main?.close();
    this.listeners.clear();
  }

  private emit(): void {
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }

  private token(lifetimeMs = 60_000): string {
    return createRelayToken({ secretKey: this.identity.secretKey, relayUrl: this.relayUrl, expiresAt: Date.now() + lifetimeMs });
  }

  /** Re-checks soon while not admitted (an administrator may add our key), rarely once a member. */
  private later(fn: () => Promise<void>): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const base = this.opts.recheckMs ?? 2000;
    this.timer = setTimeout(() => void fn(), this.membership === 'member' ? base * 15 : base);
  }

  /** Asks the relay whether we are a member (and who the members are); enrols on a development relay. */
  private async checkMembership(): Promise<void> {
    if (this.closed) return;
    let res: Response;
    try {
      res = await fetch(`${this.httpBase}/v1/members`, { headers: { Authorization: `Bearer ${this.token()}` }, cache: 'no-store' });
    } catch {
      this.membership = this.main ? this.membership : 'unreachable';
      this.emit();
      return this.later(() => this.checkMembership());
    }
    if (res.ok) {
      const body = (await res.json()) as MembersResponse;
      this.names = new Map(body.members.map((m) => [m.publicKey, m.name]));
      this.memberName = body.you.name;
      this.membership = 'member';
      this.refusal = null;
      this.joinPeers();
      this.emit();
      return this.later(() => this.checkMembership());
    }
    const body = (await res.json().catch(() => ({}))) as { error?: string; devEnroll?: boolean };
    this.refusal = typeof body.error === 'string' ? body.error : `http-${res.status}`;
    if (res.status === 401 && body.devEnroll === true && this.refusal === 'not-member') {
      this.membership = 'enrolling';
      this.emit();
      const enrolled = await fetch(`${this.httpBase}/dev/enroll`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hygeia-Enroll': '1' },
        body: JSON.stringify({ publicKey: this.identity.id }),
      }).catch(() => null);
      if (enrolled?.ok) return this.checkMembership();
    }
    this.membership = 'refused';
    this.emit();
    this.later(() => this.checkMembership());
  }

  private joinPeers(): void {
    if (this.main || this.closed) return;
    const t = new WebRtcTransport({
      secretKey: this.identity.secretKey,
      relayUrl: this.relayUrl,
      room: this.opts.room ?? CONSORTIUM_ROOM,
      isMember: (p) => this.names.has(p),
      banMs: 10_000,
    });
    this.main = t;
    t.onRelay(() => this.emit());
    t.onPeer((peer, state) => {
      const prev = this.peerViews.get(peer);
      this.peerViews.set(peer, {
        id: peer,
        name: this.names.get(peer) ?? null,
        state,
        greetingsVerified: prev?.greetingsVerified ?? 0,
        greetingsRejected: prev?.greetingsRejected ?? 0,
        lastMessageAt: prev?.lastMessageAt ?? null,
      });
      if (state === 'connected') this.greet(peer);
      this.emit();
    });
    t.onMessage((from, bytes) => {
      const check = checkGreeting(bytes, from, this.identity.id);
      if (check.ok === false && check.reason === 'not-greeting') return;
      const prev = this.peerViews.get(from);
      if (!prev) return;
      this.peerViews.set(from, {
        ...prev,
        greetingsVerified: prev.greetingsVerified + (check.ok ? 1 : 0),
        greetingsRejected: prev.greetingsRejected + (check.ok ? 0 : 1),
        lastMessageAt: Date.now(),
      });
      this.emit();
    });
  }

  private greet(peer: PeerId): void {
    if (!this.main) return;
    this.seq++;
    this.main.send(peer, encodeGreeting(this.identity.secretKey, { from: this.identity.id, to: peer, seq: this.seq, sentAt: Date.now() }));
  }
}
