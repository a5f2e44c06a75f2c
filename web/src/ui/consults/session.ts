// The consult's live part, as proposed to the lead (status file F.md) until `api.ts` carries it: the node
// starts or joins a consult over the authenticated peer link and hands back a session; the screen owns the
// camera (getUserMedia) and shows what the session reports. MediaStreams stay on the main thread.
import type { ClinicApi, PatientApi } from '../../core/node/api.ts';

export interface ConsultMessage {
  readonly from: string;
  readonly text: string;
  readonly time: number;
}

export interface ConsultState {
  readonly phase: 'connecting' | 'live' | 'ended' | 'failed';
  readonly mode: 'video' | 'audio' | 'chat';
  /** Why the consult is not on video, in plain words ("the connection is weak"), or null. */
  readonly modeReason: string | null;
  readonly remote: MediaStream | null;
  readonly messages: ConsultMessage[];
  /** Plain words when phase is 'failed'. */
  readonly problem: string | null;
}

export interface ConsultSession {
  readonly consultId: string;
  /** The other side's name: the patient's display name at the clinic, the clinic's name on the phone. */
  readonly peer: string;
  state(): ConsultState;
  subscribe(fn: (s: ConsultState) => void): () => void;
  sendChat(text: string): void;
  /** Ends the consult; the clinic's side records it as an Encounter and returns its id. */
  end(): Promise<{ encounterId: string | null }>;
}

export interface ConsultInvite {
  readonly consultId: string;
  readonly clinic: string;
  readonly startedAt: number;
}

export interface ClinicConsults {
  /** Rejects with NodeError 'rejected' when the patient's treatment consent to this clinic is not live. */
  startConsult(patientId: string, opts: { media: MediaStream | null }): Promise<ConsultSession>;
}

export interface PatientConsults {
  consultInvite(): ConsultInvite | null;
  joinConsult(consultId: string, opts: { media: MediaStream | null }): Promise<ConsultSession>;
}

export const clinicConsults = (api: ClinicApi): ClinicConsults | null =>
  typeof (api as Partial<ClinicConsults>).startConsult === 'function' ? (api as unknown as ClinicConsults) : null;
export const patientConsults = (api: PatientApi): PatientConsults | null =>
  typeof (api as Partial<PatientConsults>).joinConsult === 'function' ? (api as unknown as PatientConsults) : null;
