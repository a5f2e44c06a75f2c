// A real certified chain for the relay's tests: a development consortium's four clinics run the wasm PBFT
// replica under ConsensusNode with the contracts as their app, over SimNetwork on a virtual clock, and commit
// the transactions a test submits. The relay then gets exactly the blocks clinic nodes would push.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Replica, ed25519Sign, encodeClientRequest, initCore } from '../../../wasm/index.ts';
import { ConsensusNode, replicaStartOptions } from '../../../web/src/core/consensus/index.ts';
import type { Block } from '../../../web/src/core/ledger/block.ts';
import { HygeiaContracts, TxAuthor, type Payload, type TxKind } from '../../../web/src/core/ledger/contracts/index.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { initConsortium, readDevKey } from '../../../web/src/core/node/consortium-files.ts';
import { contractsGenesis, genesisValidators, type Genesis } from '../../../web/src/core/node/genesis.ts';
import { fromHex, toHex } from '../../../web/src/core/util/index.ts';
import { strangerKey, type TestKey } from './helpers.ts';

export interface DevClinic {
  readonly id: string;
  readonly secretKey: Uint8Array;
  readonly publicKey: string;
  readonly author: TxAuthor;
}

/** A fresh development consortium on disk (genesis and keys), as `npm start` creates one. */
export async function devConsortium(clinics = 4, dir = mkdtempSync(join(tmpdir(), 'hygeia-dev-'))): Promise<{ dir: string; genesis: Genesis; clinics: DevClinic[] }> {
  await initCore();
  const { genesis } = await initConsortium({ dir, clinics, consensus: { checkpointInterval: 4, watermarkWindow: 16, maxBatch: 8 } });
  return { dir, genesis, clinics: genesis.clinics.map((c) => clinicFrom(dir, c.id)) };
}

export function clinicFrom(dir: string, id: string): DevClinic {
  const k = readDevKey(dir, id)!;
  const seed = fromHex(k.seed, 32);
  const publicKey = fromHex(k.publicKey, 32);
  return { id, secretKey: seed, publicKey: k.publicKey, author: new TxAuthor({ publicKey, sign: (m) => ed25519Sign(seed, m) }) };
}

/** The consortium's validators committing transactions; `blocks` is the chain so far, in height order. */
export class TestChain {
  readonly blocks: Block[] = [];
  private readonly net = new SimNetwork({ seed: 5, link: { minDelay: 1, jitter: 1 } });
  private readonly nodes: ConsensusNode[];
  private readonly committedTxs = new Set<string>();
  private clientSeq = 0;
  private readonly client = new Uint8Array(32).fill(9);

  private constructor(
    readonly genesis: Genesis,
    seeds: Uint8Array[],
  ) {
    const keys = genesisValidators(genesis).map((c) => fromHex(c.nodeKey, 32));
    const base = Date.now();
    const clock = { now: () => base + this.net.clock.now(), schedule: (ms: number, fn: () => void) => this.net.clock.schedule(ms, fn) };
    const K = genesis.consensus.checkpointInterval;
    this.nodes = keys.map(
      (k, i) =>
        new ConsensusNode({
          validators: keys,
          key: k,
          createReplica: (start) =>
            new Replica({
              ...replicaStartOptions(start),
              secretKey: seeds[i]!,
              checkpointInterval: K,
              watermarkWindow: genesis.consensus.watermarkWindow,
              maxBatch: genesis.consensus.maxBatch,
            }),
          transport: this.net.join(toHex(k)),
          clock,
          app: new HygeiaContracts(contractsGenesis(genesis)),
          store: new MemoryLedgerStore(),
          checkpointInterval: K,
          timers: { batchMs: 2, viewChangeBaseMs: 400, viewChangeMaxMs: 6_400, stateTransferMs: 500 },
          onEvent: (e) => {
            if (e.kind !== 'committed' || i !== 0) return;
            this.blocks.push(e.block);
            for (const t of e.block.txs) this.committedTxs.add(toHex(t));
          },
        }),
    );
  }

  /** The chain of `genesis`'s validators, each signing with its clinic's key. */
  static async start(genesis: Genesis, clinics: readonly { readonly secretKey: Uint8Array }[]): Promise<TestChain> {
    const chain = new TestChain(
      genesis,
      clinics.map((c) => c.secretKey),
    );
    for (const n of chain.nodes) await n.start();
    return chain;
  }

  /** Commits one contract transaction (signed by `by`) and returns the blocks it took to get there. */
  async commit<K extends TxKind>(by: DevClinic, kind: K, payload: Payload<K>): Promise<Block[]> {
    const before = this.blocks.length;
    const request = encodeClientRequest(this.client, ++this.clientSeq, by.author.make(kind, payload));
    const id = toHex(request);
    for (let attempt = 0; attempt < 10; attempt++) {
      for (const n of this.nodes) n.submit(request);
      for (let slice = 0; slice < 100; slice++) {
        if (this.net.clock.runUntilCondition(() => this.committedTxs.has(id), this.net.clock.now() + 10)) return this.blocks.slice(before);
        await new Promise((r) => setImmediate(r));
      }
    }
    throw new Error(`${kind} did not commit`);
  }

  /** `by` registers `publicKey` (hex) as the key of its patient `subject`: the blocks it took. */
  registerPatientKey(by: DevClinic, publicKey: string, subject = 'p-1'): Promise<Block[]> {
    return this.commit(by, 'registerKey', { key: fromHex(publicKey, 32), org: by.id, role: 'patient', subject });
  }
}

/** A development consortium's running chain on which clinic-1 registered a patient's key and then revoked it. */
export interface PatientKeyChain {
  readonly genesis: Genesis;
  readonly clinics: DevClinic[];
  readonly chain: TestChain;
  readonly patient: TestKey;
  /** The blocks that registered the patient's key, then those that revoked it. */
  readonly registered: Block[];
  readonly revoked: Block[];
}

export async function patientKeyChain(): Promise<PatientKeyChain> {
  const { genesis, clinics } = await devConsortium(4);
  const chain = await TestChain.start(genesis, clinics);
  const patient = strangerKey();
  const registered = await chain.registerPatientKey(clinics[0]!, patient.publicKey);
  const revoked = await chain.commit(clinics[0]!, 'revokeKey', { key: fromHex(patient.publicKey, 32) });
  return { genesis, clinics, chain, patient, registered, revoked };
}
