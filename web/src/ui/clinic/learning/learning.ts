// Choices the Learning screen offers, with plain names. Task ids and rule names are the FL layer's.
// The task a clinic’s own records feed (records/features.ts: age, sex, utilisation and the latest vital signs
// as of each visit); each run of it is a task of its own on the ledger (`records-new-diagnosis.2`, …).
export const TASKS: readonly { id: string; label: string }[] = [{ id: 'records-new-diagnosis', label: 'New diagnosis within a year of a visit (each clinic’s records)' }];
export const MODELS: readonly { id: 'logreg' | 'mlp' | 'conv1d'; label: string }[] = [
  { id: 'logreg', label: 'Logistic regression' },
  { id: 'mlp', label: 'Small neural network (MLP)' },
  { id: 'conv1d', label: '1-D convolutional network (for time series)' },
];
export const RULES: readonly { id: string; label: string; hint: string }[] = [
  { id: 'trimmed', label: 'Trimmed mean (recommended)', hint: 'drops the most extreme updates on each side: robust to a third of bad clinics' },
  { id: 'median', label: 'Coordinate-wise median', hint: 'robust, a little less accurate' },
  { id: 'krum', label: 'Krum', hint: 'keeps the update closest to the others' },
  { id: 'clipped', label: 'Clipped mean', hint: 'limits how far any one update can pull' },
  { id: 'fedavg', label: 'Plain average (FedAvg)', hint: 'not robust: one bad clinic can spoil the model' },
];
export function taskLabel(id: string): string {
  const m = /^(.+)\.([1-9][0-9]*)$/.exec(id);
  const label = TASKS.find((t) => t.id === (m ? m[1] : id))?.label ?? id;
  return m ? `${label}, run ${m[2]}` : label;
}

export interface RoundPoint {
  readonly round: number;
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly localAccuracy: number | null;
}
