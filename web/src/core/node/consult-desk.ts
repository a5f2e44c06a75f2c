/// <reference types="fhir" />
// The clinic's side of consults: who may be called (a patient whose treatment consent to this clinic is live,
// on a phone the ledger registered for them), the invitation over the patient protocol, the live session, and
// the Encounter (class virtual) recorded in the patient's record afterwards.
import type { PeerId, Transport } from '../net/transport.ts';
import type { Clock } from '../consensus/index.ts';
import { NodeError, type ConsultSession, type ConsultView } from './api.ts';
import { LiveConsult, decodeChat, type MediaLink } from './consult.ts';
import type { ClinicDeskDeps, PatientLabel, PatientService } from './patient-service.ts';

const ANSWER_WAIT_MS = 90_000;

export interface ConsultDeskDeps extends ClinicDeskDeps {
  readonly clock: Clock;
  readonly patients: PatientService;
  /** Transports phones reach this clinic on. */
  readonly links: () => readonly Transport[];
  readonly patientLabel: PatientLabel;
  /** Stores the Encounter and anchors it; returns its id. */
  readonly record: (encounter: fhir4.Encounter) => Promise<string>;
}

/** The live side of a consult: a LiveConsult in this process, or the page's when the node runs in a worker. */
export interface ConsultParty {
  received(from: string, text: string): void;
  end(): Promise<unknown>;
}

/** Whom a consult calls and over which link, once the desk has checked that it may. */
export interface ConsultCall {
  readonly consultId: string;
  readonly peer: PeerId;
  readonly link: Transport;
  readonly selfName: string;
}

interface Entry {
  party: ConsultParty | null;
  view: ConsultView;
  readonly peer: PeerId;
  readonly link: Transport;
  readonly patientId: string;
  answer: ((accept: boolean) => void) | null;
  finished: Promise<{ encounterId: string | null }> | null;
}

export class ConsultDesk {
  private readonly byId = new Map<string, Entry>();

  constructor(private readonly d: ConsultDeskDeps) {}

  private phonesOf(pseudonym: string): { peer: PeerId; link: Transport }[] {
    // The patient's phones are keys their holding clinic registered for them (any clinic may hold them).
    const keys = new Set(
      this.d.contracts
        .orgs()
        .flatMap((o) => this.d.contracts.keysOf(o.id))
        .filter((k) => (k.role === 'patient' || k.role === 'guardian') && k.subject === pseudonym && !k.revoked)
        .map((k) => k.key),
    );
    const out: { peer: PeerId; link: Transport }[] = [];
    for (const link of this.d.links()) for (const peer of link.peers()) if (keys.has(peer) && !out.some((o) => o.peer === peer)) out.push({ peer, link });
    return out;
  }

  /** A consult in this process: the desk's three steps around a LiveConsult on the phone's link. */
  async start(patientId: string, media: MediaStream | null): Promise<ConsultSession> {
    const call = await this.prepare(patientId);
    const session: LiveConsult = new LiveConsult({
      consultId: call.consultId,
      peer: call.peer,
      selfName: call.selfName,
      send: (b) => call.link.send(call.peer, b),
      media: 'addMedia' in call.link ? (call.link as unknown as MediaLink) : null,
      local: media,
      onEnd: () => this.finish(call.consultId, session.state().mode),
    });
    await this.invite(call.consultId, session.state().mode, session);
    session.begin();
    return session;
  }

  /** Checks that the patient may be called (a live treatment consent, a connected phone) and books the consult. */
  async prepare(patientId: string): Promise<ConsultCall> {
    const label = await this.d.patientLabel(patientId);
    if (!label) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const now = this.d.clock.now();
    const live = this.d.contracts.consentsByGrantee(this.d.orgId(), now).filter((c) => c.patient === label.pseudonym && c.purpose === 'TREAT');
    if (live.length === 0) throw new NodeError('rejected', 'The patient has not given this clinic a live consent for treatment.');
    const phone = this.phonesOf(label.pseudonym)[0];
    if (!phone) throw new NodeError('offline', "The patient's phone is not connected.");
    const consultId = globalThis.crypto.randomUUID();
    this.byId.set(consultId, {
      party: null,
      view: { consultId, patient: label.displayName, clinic: this.d.clinicName(), startedAt: now, endedAt: null, mode: 'chat', encounterId: null },
      peer: phone.peer,
      link: phone.link,
      patientId,
      answer: null,
      finished: null,
    });
    return { consultId, peer: phone.peer, link: phone.link, selfName: this.d.clinicName() };
  }

  /** Invites the phone and waits for its answer; a refusal or silence rejects with NodeError('rejected'). */
  async invite(consultId: string, mode: ConsultView['mode'], party: ConsultParty): Promise<void> {
    const entry = this.byId.get(consultId);
    if (!entry || entry.party) throw new NodeError('not-found', 'No such consult is being set up.');
    entry.party = party;
    entry.view = { ...entry.view, mode };
    const send = (b: Uint8Array): void => entry.link.send(entry.peer, b);
    const accepted = await new Promise<boolean>((resolve) => {
      entry.answer = resolve;
      this.d.patients.invite(consultId, mode, send);
      this.d.clock.schedule(ANSWER_WAIT_MS, () => resolve(false));
    });
    entry.answer = null;
    if (!accepted) {
      this.byId.delete(consultId);
      this.d.patients.endConsult(consultId, send);
      throw new NodeError('rejected', 'The patient did not join the consult.');
    }
  }

  /** The consult ended (either side): tells the phone, records the Encounter once, and returns its id. */
  finish(consultId: string, mode: ConsultView['mode']): Promise<{ encounterId: string | null }> {
    const entry = this.byId.get(consultId);
    if (!entry) return Promise.reject(new NodeError('not-found', 'No such consult.'));
    entry.finished ??= (async () => {
      this.d.patients.endConsult(consultId, (b) => entry.link.send(entry.peer, b));
      const encounterId = await this.d.record(this.encounter(entry.patientId, entry.view.startedAt, mode));
      entry.view = { ...entry.view, endedAt: this.d.clock.now(), mode, encounterId };
      return { encounterId };
    })();
    return entry.finished;
  }

  answered(from: PeerId, consultId: string, accept: boolean): void {
    const e = this.byId.get(consultId);
    if (e && e.peer === from && e.answer) e.answer(accept);
  }

  ended(from: PeerId, consultId: string): void {
    const e = this.byId.get(consultId);
    if (e && e.peer === from) void e.party?.end();
  }

  chat(from: PeerId, bytes: Uint8Array): void {
    const m = decodeChat(bytes);
    const e = m ? this.byId.get(m.consultId) : undefined;
    if (m && e && e.peer === from) e.party?.received(e.view.patient, m.text);
  }

  list(): ConsultView[] {
    return [...this.byId.values()].map((e) => e.view).sort((a, b) => b.startedAt - a.startedAt);
  }

  private encounter(patientId: string, start: number, mode: string): fhir4.Encounter {
    return {
      resourceType: 'Encounter',
      id: globalThis.crypto.randomUUID(),
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
      type: [{ text: `Telemedicine consult (${mode})` }],
      subject: { reference: `Patient/${patientId}` },
      period: { start: new Date(start).toISOString(), end: new Date(this.d.clock.now()).toISOString() },
      serviceProvider: { display: this.d.clinicName() },
    };
  }
}
