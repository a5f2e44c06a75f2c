// The worker's side of a clinic tablet: the whole ClinicNode (replica, contracts, encrypted records, learning,
// the relay's ledger pushes), reached from the page over one port (clinic-wire.ts). Its links are the page's:
// each of the page's rooms is a PortTransport here.
import { initCore } from '../../../../wasm/index.ts';
import { systemClock } from '../consensus/index.ts';
import { IdbLedgerStore } from '../ledger/store.ts';
import { RelayClient } from '../net/relay-client.ts';
import { PortTransport } from '../net/port-transport.ts';
import type { Transport } from '../net/transport.ts';
import { NodeError, type ConsultView } from './api.ts';
import { ClinicNode } from './clinic-node.ts';
import { Outbox } from './clinic-outbox.ts';
import {
  CLINIC_CALLS,
  HOST_CALLS,
  toWireError,
  type ClinicCall,
  type ConsultTarget,
  type FromWorker,
  type HostCall,
  type RoomInit,
  type ToWorker,
  type WorkerStart,
  portable,
  type NodeEndpoint,
} from './clinic-wire.ts';

/** How long after its start a tablet loads its trainer (the start itself is busy enough). */
const TRAINER_WARM_MS = 5_000;

const isClinicCall = (m: string): m is ClinicCall => (CLINIC_CALLS as readonly string[]).includes(m);
const isHostCall = (m: string): m is HostCall => (HOST_CALLS as readonly string[]).includes(m);

export function serveClinicNode(ep: NodeEndpoint): void {
  let node: ClinicNode | null = null;
  const rooms = new Map<string, PortTransport>();
  const detachers = new Map<string, () => void>();
  const outbox = new Outbox(ep);
  const post = (m: FromWorker, transfer: Transferable[] = []): void => outbox.post(m, transfer);

  const open = (init: RoomInit): PortTransport => {
    const t = new PortTransport(init, (s) => {
      const p = portable(s.bytes);
      post({ t: 'send', room: init.room, to: s.to, bytes: p.bytes }, p.transfer);
    });
    rooms.set(init.room, t);
    return t;
  };
  const roomOf = (link: Transport): string => {
    for (const [room, t] of rooms) if (t === link) return room;
    throw new NodeError('offline', "The patient's phone is not connected.");
  };
  const mirrorMembers = (): void => {
    if (node) post({ t: 'members', nodes: node.memberNodeKeys(), phones: node.patientDeviceKeys() });
  };

  async function start(s: WorkerStart): Promise<void> {
    // The rooms exist before anything is awaited, so every later message about them finds them, whenever the
    // page sends it (the page opens its links only after 'ready', but nothing here relies on that).
    const members = open(s.members);
    const phones = open(s.phones);
    await initCore();
    node = await ClinicNode.start({
      genesis: s.genesis,
      seed: s.seed,
      clinicKey: s.clinicKey,
      transport: members,
      clock: systemClock,
      dbPrefix: s.dbPrefix,
      ledgerStore: await IdbLedgerStore.open(`${s.dbPrefix}-ledger`),
      relay: new RelayClient({ relayUrl: s.relayUrl, secretKey: s.seed }),
      // tfjs and its wasm load only when this clinic first trains, in a Web Worker of this worker.
      trainer: () => import('../fl/web.ts').then((m) => m.startWebTrainer()),
      onMembershipChange: mirrorMembers,
      onEnrolment: (codeHash, expiresAt) => post({ t: 'enrolment', codeHash, expiresAt }),
    });
    node.attachPhoneLink(phones);
    mirrorMembers();
    node.subscribe((snapshot) => outbox.snapshotChanged(snapshot));
    post({ t: 'ready' });
    const started = node;
    setTimeout(() => started.learning.warmTrainer(), TRAINER_WARM_MS);
  }

  async function dispatch(n: ClinicNode, m: Extract<ToWorker, { t: 'call' }>): Promise<unknown> {
    const a = m.args;
    if (m.method === 'importBundle') {
      return n.importBundle(a[0], m.progress ? { onProgress: (progress) => post({ t: 'progress', id: m.id, progress }) } : {});
    }
    if (isClinicCall(m.method)) return (n[m.method] as (...args: unknown[]) => Promise<unknown>).apply(n, a);
    switch (m.method) {
      case 'consultPrepare': {
        const c = await n.consultDesk.prepare(String(a[0]));
        return { consultId: c.consultId, peer: c.peer, room: roomOf(c.link), selfName: c.selfName } satisfies ConsultTarget;
      }
      case 'consultInvite': {
        const consultId = String(a[0]);
        // The live session is the page's: what the phone says of it goes there.
        return n.consultDesk.invite(consultId, a[1] as ConsultView['mode'], {
          received: (from, text) => post({ t: 'consult-chat', consultId, from, text }),
          end: async () => post({ t: 'consult-ended', consultId }),
        });
      }
      case 'consultFinish':
        return n.consultDesk.finish(String(a[0]), a[1] as ConsultView['mode']);
      case 'reportProblem':
        return n.reportProblem(String(a[0]));
    }
  }

  async function call(m: Extract<ToWorker, { t: 'call' }>): Promise<void> {
    try {
      if (!node) throw new NodeError('busy', 'The clinic node is still starting.');
      if (!isClinicCall(m.method) && !isHostCall(m.method)) throw new NodeError('invalid', 'No such call.');
      const value = await dispatch(node, m);
      outbox.result({ t: 'result', id: m.id, ok: true, value });
    } catch (e) {
      outbox.result({ t: 'result', id: m.id, ok: false, error: toWireError(e) });
    }
  }

  ep.addEventListener('message', (ev) => {
    const m = ev.data as ToWorker;
    switch (m.t) {
      case 'start':
        start(m.start).catch((e: unknown) => post({ t: 'failed', error: toWireError(e) }));
        return;
      case 'call':
        void call(m);
        return;
      case 'frame':
        rooms.get(m.room)?.deliver(m.from, m.bytes);
        return;
      case 'peer':
        rooms.get(m.room)?.peerChanged(m.peer, m.state);
        return;
      case 'relay':
        rooms.get(m.room)?.relayChanged(m.state);
        return;
      case 'room-open': {
        const t = open(m.init);
        if (node) detachers.set(m.init.room, node.attachPhoneLink(t));
        return;
      }
      case 'room-close': {
        detachers.get(m.room)?.();
        detachers.delete(m.room);
        void rooms.get(m.room)?.close();
        rooms.delete(m.room);
        return;
      }
    }
  });
}
