// The second half of the scenarios: crashes, partitions, loss, restarts, state transfer, trust.
import { describe } from 'vitest';
import { sweep } from './sweep.ts';

describe('PBFT simulator: crashes, partitions and catch-up', () => {
  sweep(['leader-crash', 'view-change-prepared', 'partition-2-2', 'lossy-30', 'restart-mid-view-change', 'state-transfer', 'low-trust-leader']);
});
