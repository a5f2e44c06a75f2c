// Choices the Learning screen offers, with plain names. Task ids and rule names are the FL layer's.
export const TASKS: readonly { id: string; label: string }[] = [
  { id: 'breast-cancer', label: 'Breast cancer diagnosis (Wisconsin data set)' },
  { id: 'wearable-risk', label: 'Cardiac risk from wearable heart rate' },
];
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
export const taskLabel = (id: string): string => TASKS.find((t) => t.id === id)?.label ?? id;

export interface RoundPoint {
  readonly round: number;
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly localAccuracy: number | null;
}
