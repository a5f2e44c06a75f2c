// The protocol between a clinic tablet's page and the clinic node it runs in a Web Worker. The node (replica,
// contracts, records, learning) does its work off the page's main thread; the page keeps what Chromium will
// not hand to a worker: the WebRTC links, the camera in a consult, the vault's WebAuthn, and the screens.
//
// One port carries everything, so order holds across kinds: a snapshot the node posted before a call's result
// reaches the page before that result, and a room's frames and link changes arrive as the page saw them.
// Every message is plain data (structured clone); bytes are copied, never shared.
import type { PeerId, PeerState } from '../net/transport.ts';
import type { PortRelayState } from '../net/port-transport.ts';
import { NodeError, type ClinicApi, type ClinicSnapshot, type ImportProgress } from './api.ts';
import type { Genesis } from './genesis.ts';

/** One of the page's WebRTC rooms, as the worker first sees it. */
export interface RoomInit {
  readonly room: string;
  readonly self: PeerId;
  readonly peers: PeerId[];
  readonly relay: PortRelayState;
  readonly maxMessageBytes: number;
}

export interface WorkerStart {
  readonly genesis: Genesis;
  readonly seed: Uint8Array;
  readonly clinicKey: Uint8Array;
  /** The relay's WebSocket origin (ws:// or wss://). */
  readonly relayUrl: string;
  readonly dbPrefix: string;
  /** The members' room (the node's own transport) first, then the patients' room. */
  readonly members: RoomInit;
  readonly phones: RoomInit;
}

/** The ClinicApi calls that cross as they are (plain data in, plain data out). */
export const CLINIC_CALLS = [
  'importBundle',
  'patients',
  'patientChart',
  'enrolPatient',
  'erasePatient',
  'patientLedger',
  'erasureRequests',
  'anchoredRecords',
  'consentsGranted',
  'requestAccess',
  'received',
  'accessLog',
  'reviewQueue',
  'reviewBreakGlass',
  'agreements',
  'proposeAgreement',
  'signAgreement',
  'endAgreement',
  'consortium',
  'proposeMember',
  'approveMember',
  'proposeRemoval',
  'approveRemoval',
  'alerts',
  'trustHistory',
  'startRound',
  'joinRound',
  'rounds',
  'consults',
  'recordHeartRate',
] as const satisfies readonly (keyof ClinicApi)[];

export type ClinicCall = (typeof CLINIC_CALLS)[number];

/** Calls the page's own wiring makes: a consult's three steps (its live side stays on the page) and problems. */
export const HOST_CALLS = ['consultPrepare', 'consultInvite', 'consultFinish', 'reportProblem'] as const;
export type HostCall = (typeof HOST_CALLS)[number];

/** What `consultPrepare` answers: whom to call, on which of the page's rooms. */
export interface ConsultTarget {
  readonly consultId: string;
  readonly peer: PeerId;
  readonly room: string;
  readonly selfName: string;
}

/** An error as it crosses: NodeError keeps its code, others their name (the screens word DOMExceptions by it). */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: NodeError['code'];
}

export type ToWorker =
  | { readonly t: 'start'; readonly start: WorkerStart }
  | { readonly t: 'call'; readonly id: number; readonly method: ClinicCall | HostCall; readonly args: unknown[]; readonly progress?: boolean }
  | { readonly t: 'frame'; readonly room: string; readonly from: PeerId; readonly bytes: Uint8Array }
  | { readonly t: 'peer'; readonly room: string; readonly peer: PeerId; readonly state: PeerState }
  | { readonly t: 'relay'; readonly room: string; readonly state: PortRelayState }
  | { readonly t: 'room-open'; readonly init: RoomInit }
  | { readonly t: 'room-close'; readonly room: string };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly error: WireError }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'progress'; readonly id: number; readonly progress: ImportProgress }
  | { readonly t: 'snapshot'; readonly snapshot: ClinicSnapshot }
  | { readonly t: 'send'; readonly room: string; readonly to: PeerId | null; readonly bytes: Uint8Array }
  /** Who may link, as the ledger says now: the page's transports answer from these without asking. */
  | { readonly t: 'members'; readonly nodes: PeerId[]; readonly phones: PeerId[] }
  | { readonly t: 'enrolment'; readonly codeHash: string; readonly expiresAt: number }
  | { readonly t: 'consult-chat'; readonly consultId: string; readonly from: string; readonly text: string }
  | { readonly t: 'consult-ended'; readonly consultId: string }
  /** Several of the above, in order (clinic-outbox.ts). */
  | { readonly t: 'batch'; readonly messages: FromWorker[] };

/** A worker's global scope, or a MessagePort: what the node is served over. */
export interface NodeEndpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

/** Bytes as they cross: a view of part of a larger buffer is copied alone (and that copy moved, not cloned). */
export function portable(bytes: Uint8Array): { bytes: Uint8Array; transfer: Transferable[] } {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return { bytes, transfer: [] };
  const copy = bytes.slice();
  return { bytes: copy, transfer: [copy.buffer] };
}

export function toWireError(e: unknown): WireError {
  if (e instanceof NodeError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof Error) return { name: e.name, message: e.message.split('\n')[0]!.slice(0, 500) };
  return { name: 'Error', message: typeof e === 'string' ? e.slice(0, 500) : 'unknown failure' };
}

export function fromWireError(w: WireError): Error {
  if (w.code) return new NodeError(w.code, w.message);
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}
