// Quorum sizes for n replicas, everywhere one is counted: the wasm replica, commit and checkpoint
// certificates, block attestations, the contracts' reconfiguration approvals and the light client.
//
// With f = floor((n-1)/3) faulty replicas tolerated, a quorum of q = ceil((n+f+1)/2) makes any two quorums
// share at least 2q - n >= f+1 replicas, so at least one honest replica is in both (and two conflicting
// certificates cannot both gather a quorum). The textbook 2f+1 gives that only when n = 3f+1: at n = 5
// (f = 1) two quorums of 3 may share one replica, which may be the faulty one. q <= n - f keeps liveness:
// the n - f honest replicas can always form a quorum on their own.

/** How many faulty replicas (Byzantine) n replicas tolerate: floor((n-1)/3). */
export function faultsTolerated(n: number): number {
  checkCount(n);
  return Math.floor((n - 1) / 3);
}

/** The smallest number of replicas whose agreement counts: ceil((n + f + 1) / 2). */
export function quorumSize(n: number): number {
  const f = faultsTolerated(n);
  return Math.ceil((n + f + 1) / 2);
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('a replica count is a positive integer');
}
