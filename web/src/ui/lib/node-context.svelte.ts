// The node each screen talks to, shared through Svelte context: the API object and its live snapshot.
// Screens read `node.snapshot` (reactive) and call `node.api`; nothing else reaches the node.
import { getContext, setContext } from 'svelte';
import type { ClinicApi, ClinicSnapshot, PatientApi, PatientSnapshot } from '../../core/node/api.ts';

export class NodeState<A extends ClinicApi | PatientApi, S extends ClinicSnapshot | PatientSnapshot> {
  snapshot = $state() as S;
  private readonly unsubscribe: () => void;

  constructor(readonly api: A) {
    this.snapshot = api.snapshot() as S;
    this.unsubscribe = (api.subscribe as (fn: (s: S) => void) => () => void)((s) => {
      this.snapshot = s;
    });
  }

  /** Whether screens that need the network can act now. */
  get online(): boolean {
    return this.snapshot.status !== 'offline' && this.snapshot.relay !== 'disconnected';
  }

  dispose(): void {
    this.unsubscribe();
  }
}

export type ClinicState = NodeState<ClinicApi, ClinicSnapshot>;
export type PatientState = NodeState<PatientApi, PatientSnapshot>;

const CLINIC = Symbol('clinic');
const PATIENT = Symbol('patient');

export const provideClinic = (s: ClinicState): ClinicState => setContext(CLINIC, s);
export const providePatient = (s: PatientState): PatientState => setContext(PATIENT, s);

export function clinic(): ClinicState {
  const s = getContext<ClinicState | undefined>(CLINIC);
  if (!s) throw new Error('clinic screen outside the clinic app');
  return s;
}

export function patient(): PatientState {
  const s = getContext<PatientState | undefined>(PATIENT);
  if (!s) throw new Error('patient screen outside the patient app');
  return s;
}
