// The one vote collector: prepares and commits of a seq, checkpoint votes of a seq. A slot per sender holds
// the first vote that sender gave; a later identical message is a duplicate, a different one a conflict
// (equivocation). A vote that arrived over a channel that authenticates its sender counts before its
// signature is checked: signatures are checked only for the votes a quorum is built from, all at once, when
// there are enough of them (see the replica's README, "Authenticated channels").
import { bytesEqual } from './crypto';
import { Envelope } from './messages';
import { Replica } from './replica';

export class Ballot {
  constructor(
    public sender: i32,
    /** The signed message, as received. */
    public env: Envelope,
    /** What the vote agrees to: a batch digest, or a checkpoint's state and replica digests. */
    public key: Uint8Array,
    /** Its signature was checked (or it is our own). */
    public verified: bool,
  ) {}
  /** The seq a checkpoint vote is for (votes of a seq's own set leave it 0). */
  seq: u64 = 0;

  /** Adds its signature to the replica's current batch (see Replica.failedSignatures). */
  queueCheck(r: Replica): void {
    r.batchEnv(this.env, this.sender);
  }
}

export enum Added {
  Fresh = 0,
  Duplicate = 1,
  Conflict = 2,
}

export class VoteSet {
  slots: StaticArray<Ballot | null>;
  /** Senders whose signature failed: their slot stays taken but never counts. */
  bad: u64 = 0;

  constructor(n: i32) {
    this.slots = new StaticArray<Ballot | null>(n);
  }

  get(sender: i32): Ballot | null {
    return unchecked(this.slots[sender]);
  }

  /** Takes a sender's vote, unless it already gave one: the same message again, or another one. */
  add(b: Ballot): Added {
    const prior = unchecked(this.slots[b.sender]);
    if (prior != null) return bytesEqual(prior.env.body, b.env.body) ? Added.Duplicate : Added.Conflict;
    unchecked((this.slots[b.sender] = b));
    return Added.Fresh;
  }

  markBad(sender: i32): void {
    this.bad |= (<u64>1) << (<u64>sender);
  }

  private counts(b: Ballot | null, key: Uint8Array, exclude: i32): bool {
    if (b == null || b.sender == exclude || (this.bad & ((<u64>1) << (<u64>b.sender))) != 0) return false;
    return bytesEqual(b.key, key);
  }

  /** How many senders (other than `exclude`) agree on `key`. */
  count(key: Uint8Array, exclude: i32): i32 {
    let k = 0;
    for (let i = 0; i < this.slots.length; i++) if (this.counts(unchecked(this.slots[i]), key, exclude)) k++;
    return k;
  }

  /** Up to `limit` votes agreeing on `key` (not from `exclude`): checked ones first, then by sender. */
  pick(key: Uint8Array, exclude: i32, limit: i32): Array<Ballot> {
    const out = new Array<Ballot>();
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < this.slots.length && out.length < limit; i++) {
        const b = unchecked(this.slots[i]);
        if (this.counts(b, key, exclude) && b!.verified == (pass == 0)) out.push(b!);
      }
    }
    return out;
  }

  clear(): void {
    for (let i = 0; i < this.slots.length; i++) unchecked((this.slots[i] = null));
    this.bad = 0;
  }
}
