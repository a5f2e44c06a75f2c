// The page's side of a clinic tablet whose node runs in a Web Worker (clinic-worker.ts): the ClinicApi the
// screens and window.hygeia use, answered by the worker over one port (clinic-wire.ts). The page keeps the
// WebRTC rooms and relays their traffic; it answers its transports' membership questions from the lists the
// node sends after every block that changes them; and a consult's live session (camera, microphone, chat)
// runs here, on the link to the phone, while the node decides who may be called and records the Encounter.
import { DEFAULT_MAX_MESSAGE_BYTES } from '../net/framing.ts';
import type { WebRtcTransport } from '../net/webrtc-transport.ts';
import type { PeerId } from '../net/transport.ts';
import { NodeError, type ClinicApi, type ClinicSnapshot, type ConsultSession, type ImportProgress, type ImportResult } from './api.ts';
import { LiveConsult } from './consult.ts';
import {
  CLINIC_CALLS,
  fromWireError,
  portable,
  type NodeEndpoint,
  type ClinicCall,
  type ConsultTarget,
  type FromWorker,
  type HostCall,
  type RoomInit,
  type ToWorker,
  type WorkerStart,
} from './clinic-wire.ts';

/** The page's end of the worker: a Worker (or a MessagePort in tests). */
export interface WorkerEndpoint extends NodeEndpoint {
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (e: MessageEvent) => void): void;
}

export interface RemoteClinicOptions {
  readonly worker: WorkerEndpoint;
  readonly start: Omit<WorkerStart, 'members' | 'phones'>;
  /** This tablet's identity on the links (the rooms' `self`). */
  readonly self: PeerId;
  /**
   * Opens the members' room (the node's own links) and the patients' room. Called once the node has started
   * and said who the members are, so the rooms answer every handshake right from the first: a room opened
   * earlier would keep its peers waiting on a node still loading, and they give up and try again later.
   */
  readonly rooms: (clinic: RemoteClinic) => { members: WebRtcTransport; phones: WebRtcTransport };
  /** The node issued a one-time code: the page registers it and opens its room (attachRoom). */
  readonly onEnrolment?: (codeHash: string, expiresAt: number) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (p: ImportProgress) => void;
}

const STOPPED = 'The clinic node stopped working. Reload the page.';

export class RemoteClinic {
  private readonly rooms = new Map<string, WebRtcTransport>();
  private readonly roomOffs = new Map<string, (() => void)[]>();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(s: ClinicSnapshot) => void>();
  private readonly consultSessions = new Map<string, LiveConsult>();
  private memberNodes = new Set<PeerId>();
  private phoneKeys = new Set<PeerId>();
  private nextId = 1;
  private last: ClinicSnapshot | null = null;
  private stopped = false;
  private readonly ready: Promise<void>;

  private constructor(private readonly o: RemoteClinicOptions) {
    let settle!: { resolve(): void; reject(e: Error): void };
    this.ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    o.worker.addEventListener('message', (ev) => this.onMessage(ev.data as FromWorker, settle));
    const fail = (): void => {
      settle.reject(new NodeError('busy', STOPPED));
      this.stop();
    };
    o.worker.addEventListener('error', fail);
    o.worker.addEventListener('messageerror', fail);
  }

  /** Starts the node in the worker over the page's two rooms; resolves once it serves calls. */
  static async start(o: RemoteClinicOptions): Promise<RemoteClinic & ClinicApi> {
    const c = new RemoteClinic(o);
    const closed = (room: string): RoomInit => ({ room, self: o.self, peers: [], relay: 'connecting', maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
    c.post({ t: 'start', start: { ...o.start, members: closed('members'), phones: closed('phones') } });
    await c.ready;
    const rooms = o.rooms(c);
    for (const [room, t] of [
      ['members', rooms.members],
      ['phones', rooms.phones],
    ] as const) {
      c.attach(room, t);
      c.post({ t: 'relay', room, state: t.relayState });
    }
    return c as RemoteClinic & ClinicApi;
  }

  // ---- what the page's transports ask --------------------------------------------------------------------

  isMemberNode(peer: PeerId): boolean {
    return this.memberNodes.has(peer);
  }

  isPatientDevice(peer: PeerId): boolean {
    return this.phoneKeys.has(peer);
  }

  /** Relays one more of the page's rooms (a phone's enrolment room) to the node; the result detaches it. */
  attachRoom(room: string, t: WebRtcTransport): () => void {
    this.post({ t: 'room-open', init: this.attach(room, t) });
    return () => {
      for (const off of this.roomOffs.get(room) ?? []) off();
      this.roomOffs.delete(room);
      this.rooms.delete(room);
      this.post({ t: 'room-close', room });
    };
  }

  reportProblem(message: string): void {
    void this.call('reportProblem', [message]).catch(() => {});
  }

  // ---- the snapshot -------------------------------------------------------------------------------------

  snapshot(): ClinicSnapshot {
    if (!this.last) throw new NodeError('busy', 'The clinic node is still starting.');
    return this.last;
  }

  subscribe(fn: (s: ClinicSnapshot) => void): () => void {
    this.listeners.add(fn);
    if (this.last) fn(this.last);
    return () => this.listeners.delete(fn);
  }

  // ---- calls that need the page -------------------------------------------------------------------------

  importBundle(bundle: unknown, opts: { onProgress?: (p: ImportProgress) => void } = {}): Promise<ImportResult> {
    return this.call('importBundle', [bundle], opts.onProgress) as Promise<ImportResult>;
  }

  /** The node checks and invites; the session (and its media) lives on the page's link to the phone. */
  async startConsult(patientId: string, opts: { media: MediaStream | null }): Promise<ConsultSession> {
    const target = (await this.call('consultPrepare', [patientId])) as ConsultTarget;
    const link = this.rooms.get(target.room);
    if (!link) throw new NodeError('offline', "The patient's phone is not connected.");
    const session: LiveConsult = new LiveConsult({
      consultId: target.consultId,
      peer: target.peer,
      selfName: target.selfName,
      send: (b) => link.send(target.peer, b),
      media: link,
      local: opts.media,
      onEnd: () => {
        this.consultSessions.delete(target.consultId);
        return this.call('consultFinish', [target.consultId, session.state().mode]) as Promise<{ encounterId: string | null }>;
      },
    });
    this.consultSessions.set(target.consultId, session);
    try {
      await this.call('consultInvite', [target.consultId, session.state().mode]);
    } catch (e) {
      this.consultSessions.delete(target.consultId);
      throw e;
    }
    session.begin();
    return session;
  }

  // ---- the port -----------------------------------------------------------------------------------------

  private attach(room: string, t: WebRtcTransport): RoomInit {
    this.rooms.set(room, t);
    this.roomOffs.set(room, [
      t.onMessage((from, bytes) => {
        const p = portable(bytes);
        this.post({ t: 'frame', room, from, bytes: p.bytes }, p.transfer);
      }),
      t.onPeer((peer, state) => this.post({ t: 'peer', room, peer, state })),
      t.onRelay((state) => this.post({ t: 'relay', room, state })),
    ]);
    return { room, self: t.self, peers: t.peers(), relay: t.relayState, maxMessageBytes: t.maxMessageBytes };
  }

  private post(m: ToWorker, transfer: Transferable[] = []): void {
    if (!this.stopped) this.o.worker.postMessage(m, transfer);
  }

  private call(method: ClinicCall | HostCall, args: unknown[], progress?: (p: ImportProgress) => void): Promise<unknown> {
    if (this.stopped) return Promise.reject(new NodeError('busy', STOPPED));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(progress ? { progress } : {}) });
      const send = (a: unknown[]): void => this.post({ t: 'call', id, method, args: a, ...(progress ? { progress: true } : {}) });
      try {
        send(args);
      } catch (e) {
        // The screens pass their reactive state (Svelte's proxies), which structured clone refuses; every
        // argument of the API is JSON data, so its plain copy is the same call.
        try {
          if (!(e instanceof DOMException && e.name === 'DataCloneError')) throw e;
          send(JSON.parse(JSON.stringify(args)) as unknown[]);
        } catch (e2) {
          this.pending.delete(id);
          reject(e2 instanceof Error ? e2 : new Error(String(e2)));
        }
      }
    });
  }

  private onMessage(m: FromWorker, start: { resolve(): void; reject(e: Error): void }): void {
    switch (m.t) {
      case 'batch':
        for (const one of m.messages) this.onMessage(one, start);
        return;
      case 'ready':
        return start.resolve();
      case 'failed':
        start.reject(fromWireError(m.error));
        return this.stop();
      case 'result': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(fromWireError(m.error));
        return;
      }
      case 'progress':
        return this.pending.get(m.id)?.progress?.(m.progress);
      case 'snapshot':
        this.last = m.snapshot;
        for (const l of [...this.listeners]) l(m.snapshot);
        return;
      case 'send': {
        const t = this.rooms.get(m.room);
        try {
          if (m.to === null) t?.broadcast(m.bytes);
          else t?.send(m.to, m.bytes);
        } catch {
          // The room closed under the send: best-effort, as the transport's own sends are.
        }
        return;
      }
      case 'members':
        this.memberNodes = new Set(m.nodes);
        this.phoneKeys = new Set(m.phones);
        for (const t of this.rooms.values()) t.refreshMembership();
        return;
      case 'enrolment':
        return this.o.onEnrolment?.(m.codeHash, m.expiresAt);
      case 'consult-chat':
        return this.consultSessions.get(m.consultId)?.received(m.from, m.text);
      case 'consult-ended':
        void this.consultSessions.get(m.consultId)?.end();
        return;
    }
  }

  /** The worker failed: every call still waiting, and every later one, says so; the screens show it. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.pending.values()) p.reject(new NodeError('busy', STOPPED));
    this.pending.clear();
    if (this.last) {
      this.last = { ...this.last, status: 'failed', problem: STOPPED };
      for (const l of [...this.listeners]) l(this.last);
    }
  }

  static {
    // The calls that cross as they are: one method each, generated from the wire's list so none is missed.
    for (const method of CLINIC_CALLS) {
      if (method === 'importBundle' || method in RemoteClinic.prototype) continue;
      Object.defineProperty(RemoteClinic.prototype, method, {
        value(this: RemoteClinic, ...args: unknown[]) {
          return this.call(method, args);
        },
        writable: true,
        configurable: true,
      });
    }
  }
}
