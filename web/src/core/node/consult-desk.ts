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

interface Entry {
  readonly session: LiveConsult;
  view: ConsultView;
  readonly peer: PeerId;
  answer: ((accept: boolean) => void) | null;
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

  async start(patientId: string, media: MediaStream | null): Promise<ConsultSession> {
    const label = await this.d.patientLabel(patientId);
    if (!label) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const now = this.d.clock.now();
    const live = this.d.contracts.consentsByGrantee(this.d.orgId(), now).filter((c) => c.patient === label.pseudonym && c.purpose === 'TREAT');
    if (live.length === 0) throw new NodeError('rejected', 'The patient has not given this clinic a live consent for treatment.');
    const phone = this.phonesOf(label.pseudonym)[0];
    if (!phone) throw new NodeError('offline', "The patient's phone is not connected.");
    const consultId = globalThis.crypto.randomUUID();
    const send = (b: Uint8Array): void => phone.link.send(phone.peer, b);
    const session = new LiveConsult({
      consultId,
      peer: phone.peer,
      selfName: this.d.clinicName(),
      send,
      media: 'addMedia' in phone.link ? (phone.link as unknown as MediaLink) : null,
      local: media,
      onEnd: async () => {
        this.d.patients.endConsult(consultId, send);
        const encounterId = await this.d.record(this.encounter(patientId, entry.view.startedAt, session.state().mode));
        entry.view = { ...entry.view, endedAt: this.d.clock.now(), mode: session.state().mode, encounterId };
        return { encounterId };
      },
    });
    const entry: Entry = {
      session,
      view: { consultId, patient: label.displayName, clinic: this.d.clinicName(), startedAt: now, endedAt: null, mode: session.state().mode, encounterId: null },
      peer: phone.peer,
      answer: null,
    };
    this.byId.set(consultId, entry);
    const accepted = await new Promise<boolean>((resolve) => {
      entry.answer = resolve;
      this.d.patients.invite(consultId, session.state().mode, send);
      this.d.clock.schedule(ANSWER_WAIT_MS, () => resolve(false));
    });
    entry.answer = null;
    if (!accepted) {
      this.byId.delete(consultId);
      this.d.patients.endConsult(consultId, send);
      throw new NodeError('rejected', 'The patient did not join the consult.');
    }
    session.begin();
    return session;
  }

  answered(from: PeerId, consultId: string, accept: boolean): void {
    const e = this.byId.get(consultId);
    if (e && e.peer === from && e.answer) e.answer(accept);
  }

  ended(from: PeerId, consultId: string): void {
    const e = this.byId.get(consultId);
    if (e && e.peer === from) void e.session.end();
  }

  chat(from: PeerId, bytes: Uint8Array): void {
    const m = decodeChat(bytes);
    const e = m ? this.byId.get(m.consultId) : undefined;
    if (m && e && e.peer === from) e.session.received(e.view.patient, m.text);
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
