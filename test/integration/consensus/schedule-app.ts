// A small LedgerApp whose validator schedule a test controls, with the contracts' state tree (real state
// roots and state proofs) and a `consensus` leaf shaped and folded like the contracts' (ledger/contracts/
// consensus.ts): "validators=<hex>,<hex>,…" schedules a change at the next checkpoint, "key=value" sets a key.
import type { ApplyContext, ApplyResult, LedgerApp, ValidatorSchedule } from '../../../web/src/core/ledger/index.ts';
import { CONSENSUS_KEY, type ConsensusLeaf, type StateProofPath } from '../../../web/src/core/ledger/contracts/index.ts';
import { StateTree } from '../../../web/src/core/ledger/contracts/state-tree.ts';
import { parseKvTx } from '../../sim/kv-app.ts';
import { fromHex, toHex } from '../../../web/src/core/util/index.ts';

interface State {
  kv: Record<string, string>;
  leaf: ConsensusLeaf;
}

export class ScheduleApp implements LedgerApp {
  private tree = new StateTree();
  private state: State;

  constructor(
    genesisValidators: readonly Uint8Array[],
    private readonly K: number,
  ) {
    this.state = { kv: {}, leaf: { epoch: 0, validators: genesisValidators.map((k, i) => ({ org: `org-${i}`, key: toHex(k) })), since: 0, next: null } };
    this.tree.set(CONSENSUS_KEY, this.state.leaf);
  }

  apply(tx: Uint8Array, ctx: ApplyContext): ApplyResult {
    const kv = parseKvTx(tx);
    if ('reason' in kv) return kv;
    const { key: k, value: v } = kv;
    const leaf = this.state.leaf;
    // Fold a change whose checkpoint has passed, as the contracts do before a block's transactions.
    if (leaf.next && leaf.next.at < ctx.height) this.setLeaf({ epoch: leaf.epoch + 1, validators: leaf.next.validators, since: leaf.next.at, next: null });
    if (k === 'validators') {
      const keys = v.split(',');
      if (keys.length < 1 || keys.some((x) => !/^[0-9a-f]{64}$/.test(x))) return { ok: false, reason: 'bad-validators' };
      const validators = keys.map((key, i) => ({ org: `org-${key.slice(0, 8)}-${i}`, key }));
      this.setLeaf({ ...this.state.leaf, next: { validators, at: Math.ceil(ctx.height / this.K) * this.K } });
      return { ok: true };
    }
    this.state.kv[k] = v;
    this.tree.set(`kv/${k}`, v);
    return { ok: true };
  }

  get(key: string): string | undefined {
    return this.state.kv[key];
  }

  stateRoot(): Uint8Array {
    return this.tree.root();
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.state));
  }

  restore(snapshot: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(snapshot)) as State;
    this.state = s;
    this.tree = new StateTree();
    this.tree.set(CONSENSUS_KEY, s.leaf);
    for (const [k, v] of Object.entries(s.kv)) this.tree.set(`kv/${k}`, v);
  }

  validatorSchedule(): ValidatorSchedule {
    const l = this.state.leaf;
    const keys = (v: { key: string }[]) => v.map((x) => fromHex(x.key, 32));
    return { epoch: l.epoch, validators: keys(l.validators), since: l.since, next: l.next ? { validators: keys(l.next.validators), at: l.next.at } : null };
  }

  consensusLeaf(): ConsensusLeaf {
    return structuredClone(this.state.leaf);
  }

  stateProof(key: string): { value: unknown; proof: StateProofPath } {
    const value = key === CONSENSUS_KEY ? this.state.leaf : key.startsWith('kv/') ? (this.state.kv[key.slice(3)] ?? null) : null;
    return { value: structuredClone(value), proof: this.tree.path(key) };
  }

  private setLeaf(leaf: ConsensusLeaf): void {
    this.state.leaf = leaf;
    this.tree.set(CONSENSUS_KEY, leaf);
  }
}
