// What a replica remembers: the state of each sequence number in its window, its own checkpoints, the stable
// checkpoint and its proof, and the messages it holds for views it has not entered yet.
import { Checkpoint, Envelope, PrePrepare, PreparedCert } from './messages';
import { VoteSet } from './votes';

/** The state of one sequence number. */
export class Entry {
  seq: u64;
  /** The view of the vote state below. */
  view: u64 = 0;
  pp: PrePrepare | null = null;
  prepares: VoteSet;
  commits: VoteSet;
  prepared: bool = false;
  commitSent: bool = false;
  // What committed here (survives view changes): its pre-prepare, view and certificate.
  committed: bool = false;
  executed: bool = false;
  cPP: PrePrepare | null = null;
  cView: u64 = 0;
  cCert: Uint8Array = new Uint8Array(0);
  /** The prepared certificate of the highest view, carried by view changes. */
  best: PreparedCert | null = null;
  /** Peers we already sent this seq's commit proof to (once each). */
  proofSentTo: u64 = 0;

  constructor(seq: u64, view: u64, n: i32) {
    this.seq = seq;
    this.view = view;
    this.prepares = new VoteSet(n);
    this.commits = new VoteSet(n);
  }

  /** A new view: its votes start afresh (what committed stays committed). */
  resetVotes(view: u64): void {
    this.view = view;
    this.pp = null;
    this.prepares.clear();
    this.commits.clear();
    this.prepared = false;
    this.commitSent = false;
  }
}

/** Our own checkpoint at a seq: the host's state digest and our replica state there. */
export class OwnCheckpoint {
  constructor(
    public seq: u64,
    public stateDigest: Uint8Array,
    public replicaState: Uint8Array,
    public replicaDigest: Uint8Array,
  ) {}
}

/** The stable checkpoint: a quorum of checkpoint messages (`proof`, from `senders`) for its digests. */
export class Stable {
  constructor(
    public seq: u64,
    public stateDigest: Uint8Array,
    public replicaDigest: Uint8Array,
    public proof: Array<Uint8Array>,
    public senders: Array<i32>,
  ) {}

  /** The stable checkpoint a checked proof establishes (a resume certificate, a view change's proof). */
  static proven(seq: u64, stateDigest: Uint8Array, replicaDigest: Uint8Array, proof: Array<Checkpoint>): Stable {
    const wires = new Array<Uint8Array>();
    const senders = new Array<i32>();
    for (let i = 0; i < proof.length; i++) {
      const c = unchecked(proof[i]);
      wires.push(c.env!.wire);
      senders.push(c.sender);
    }
    return new Stable(seq, stateDigest, replicaDigest, wires, senders);
  }
}

/** A message for a view we have not entered yet, from a sender the channel (or its signature) vouched for. */
export class Buffered {
  constructor(
    public view: u64,
    public env: Envelope,
  ) {}
}
