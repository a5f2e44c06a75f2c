// The node each screen talks to, shared through Svelte context: the API object and its live snapshot.
// Screens read `node.snapshot` (reactive) and call `node.api`; nothing else reaches the node. The node emits a
// snapshot on every event (a block, a peer, a round step: dozens a second while a round settles); the screens
// take the newest at most every MIN_REDRAW_MS, in an animation frame. A redraw is the page's costliest task
// (2 ms of CPU on the bench's tablets), and on a busy tablet such a task waits for a core several times over:
// drawing a block height a person cannot read that fast would only take the main thread from the nurse. The
// snapshot is replaced whole, never edited, so it is held raw (no deep proxy).
import { getContext, onDestroy, setContext } from 'svelte';
import type { ClinicApi, ClinicSnapshot, PatientApi, PatientSnapshot } from '../../core/node/api.ts';

export class NodeState<A extends ClinicApi | PatientApi, S extends ClinicSnapshot | PatientSnapshot> {
  snapshot = $state.raw() as S;
  private readonly unsubscribe: () => void;

  constructor(readonly api: A) {
    this.snapshot = api.snapshot() as S;
    let newest: S | null = null;
    const take = (): void => {
      if (newest) this.snapshot = newest;
      newest = null;
      shownAt = performance.now();
    };
    let shownAt = -Infinity;
    this.unsubscribe = (api.subscribe as (fn: (s: S) => void) => () => void)((s) => {
      if (newest === null) {
        const wait = shownAt + MIN_REDRAW_MS - performance.now();
        if (wait > 0) setTimeout(() => nextFrame(take), wait);
        else nextFrame(take);
      }
      newest = s;
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

/** The status line's figures change with every block; once a second is as often as a person reads them. */
const MIN_REDRAW_MS = 1000;

const nextFrame = (fn: () => void): void => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(fn);
  else queueMicrotask(fn);
};

export type ClinicState = NodeState<ClinicApi, ClinicSnapshot>;
export type PatientState = NodeState<PatientApi, PatientSnapshot>;

const CLINIC = Symbol('clinic');
const PATIENT = Symbol('patient');

/**
 * The node's state for the screens below the calling component (called while it initialises), following the
 * node until that component is destroyed.
 */
export const provideClinic = (api: ClinicApi): ClinicState => provide(CLINIC, new NodeState<ClinicApi, ClinicSnapshot>(api));
export const providePatient = (api: PatientApi): PatientState => provide(PATIENT, new NodeState<PatientApi, PatientSnapshot>(api));

function provide<S extends ClinicState | PatientState>(key: symbol, s: S): S {
  onDestroy(() => s.dispose());
  return setContext(key, s);
}

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
