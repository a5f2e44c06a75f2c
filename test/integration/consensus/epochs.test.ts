// Validator-set changes in the host (PLAN "Epochs"): four genesis validators and a fifth member following the
// chain; the ledger admits the fifth, which becomes a validator at the next checkpoint E (every node switches
// there), and later removes the first, which stops voting and keeps following. Safety: every node holds the
// same block at every height, each verified against the validators of its height and attested by them.
// Liveness: every request is committed in each epoch.
import { describe, expect, it } from 'vitest';
import { Replica, ed25519PublicKey, ed25519Sign, encodeClientRequest } from '../../../wasm/index.ts';
import { ConsensusNode, replicaStartOptions, type ConsensusEvent } from '../../../web/src/core/consensus/index.ts';
import { verifyAttestation } from '../../../web/src/core/ledger/attestation.ts';
import { readCommitCertificate } from '../../../web/src/core/ledger/certificate.ts';
import { blockHash, genesisHash } from '../../../web/src/core/ledger/block.ts';
import { epochId, type Epoch } from '../../../web/src/core/ledger/epoch.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { verifyBlock } from '../../../web/src/core/ledger/verify.ts';
import { SimNetwork } from '../../../web/src/core/net/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { ScheduleApp } from './schedule-app.ts';
import { useCore } from '../../unit/shared/core.ts';

const K = 4;

useCore();

function consortium(seed: number) {
  const rng = new Prng(seed);
  const secrets = Array.from({ length: 5 }, () => rng.bytes(32));
  const keys = secrets.map(ed25519PublicKey);
  const genesisValidators = keys.slice(0, 4);
  const net = new SimNetwork({ seed, link: { minDelay: 1, jitter: 3 } });
  const events: ConsensusEvent[][] = keys.map(() => []);
  const apps = keys.map(() => new ScheduleApp(genesisValidators, K));
  const stores = keys.map(() => new MemoryLedgerStore());
  const node = (i: number, transport = net.join(toHex(keys[i]!))) =>
    new ConsensusNode({
      validators: genesisValidators,
      key: keys[i]!,
      createReplica: (s) => new Replica({ ...replicaStartOptions(s), secretKey: secrets[i]!, checkpointInterval: K, watermarkWindow: 4 * K, maxBatch: 4 }),
      signAttestation: (m) => ed25519Sign(secrets[i]!, m),
      transport,
      clock: net.clock,
      app: apps[i]!,
      store: stores[i]!,
      checkpointInterval: K,
      timers: { batchMs: 2, viewChangeBaseMs: 400, viewChangeMaxMs: 6_400, stateTransferMs: 300 },
      onEvent: (e) => events[i]!.push(e),
    });
  const nodes = keys.map((_, i) => node(i));
  /** Crashes node i (memory lost, store kept) and later restarts it over the same store with a fresh app. */
  const crash = async (i: number) => {
    net.crash(toHex(keys[i]!));
    await nodes[i]!.stop();
  };
  const restart = async (i: number) => {
    apps[i] = new ScheduleApp(genesisValidators, K);
    nodes[i] = node(i, net.restart(toHex(keys[i]!)));
    await nodes[i]!.start();
  };
  const client = rng.bytes(32);
  let clientSeq = 1;
  /** Signs a request and hands it to every node until a validator has committed it (a client resubmits). */
  const submit = (payload: string) => {
    const bytes = encodeClientRequest(client, clientSeq++, new TextEncoder().encode(payload));
    const key = payload.slice(0, payload.indexOf('='));
    const value = payload.slice(payload.indexOf('=') + 1);
    const done = () =>
      key === 'validators'
        ? events.some((ev) => ev.some((e) => e.kind === 'committed' && e.block.txs.some((t) => toHex(t) === toHex(bytes))))
        : apps.some((a) => a.get(key) === value);
    const send = () => {
      if (done()) return;
      for (const n of nodes) n.submit(bytes);
      net.clock.schedule(500, send);
    };
    send();
  };
  const run = async (until: () => boolean, ms: number) => {
    const deadline = net.clock.now() + ms;
    while (net.clock.now() < deadline) {
      if (net.clock.runUntilCondition(until, Math.min(deadline, net.clock.now() + 50))) return true;
      await new Promise((r) => setTimeout(r, 0)); // let storage writes run
    }
    return until();
  };
  return { keys, secrets, genesisValidators, net, nodes, apps, events, submit, run, crash, restart };
}

describe('epochs in the host', () => {
  it.each([61, 62, 63])(
    'seed %i: a fifth validator joins at a checkpoint and the first later leaves: same chain everywhere, every block verified against its epoch, requests committed throughout',
    async (seed) => {
      const c = consortium(seed);
      for (const n of c.nodes) await n.start();
      expect(c.nodes.map((n) => n.isValidator)).toEqual([true, true, true, true, false]);

      const all = (pred: (i: number) => boolean) => c.nodes.every((_, i) => pred(i));
      // Epoch 0.
      for (let k = 0; k < 6; k++) c.submit(`a${k}=${k}`);
      expect(await c.run(() => all((i) => c.apps[i]!.get('a5') === '5'), 30_000)).toBe(true); // the follower too

      // Admit the fifth: it votes from the next checkpoint on.
      c.submit(`validators=${c.keys.slice(0, 5).map(toHex).join(',')}`);
      for (let k = 0; k < 6; k++) c.submit(`b${k}=${k}`);
      expect(await c.run(() => all((i) => c.nodes[i]!.epoch.number === 1 && c.apps[i]!.get('b5') === '5'), 60_000)).toBe(true);
      expect(await c.run(() => c.nodes[4]!.isValidator, 30_000)).toBe(true);
      const e1 = c.nodes[0]!.epoch;
      expect(e1.since % K).toBe(0);
      expect(e1.validators.map(toHex)).toEqual(c.keys.slice(0, 5).map(toHex));
      // Requests commit with five validators (quorum 4), the new one among the signers.
      for (let k = 0; k < 8; k++) c.submit(`c${k}=${k}`);
      expect(await c.run(() => all((i) => c.apps[i]!.get('c7') === '7'), 60_000)).toBe(true);
      const signers = new Set<number>();
      for (let h = e1.since + 1; h <= c.nodes[1]!.height; h++) for (const v of readCommitCertificate(c.nodes[1]!.block(h)!.certificate) ?? []) signers.add(v.sender);
      expect(signers.has(4)).toBe(true);

      // Remove the first: it stops voting at the next checkpoint and follows.
      c.submit(`validators=${c.keys.slice(1, 5).map(toHex).join(',')}`);
      for (let k = 0; k < 6; k++) c.submit(`d${k}=${k}`);
      expect(await c.run(() => all((i) => c.nodes[i]!.epoch.number === 2 && c.apps[i]!.get('d5') === '5'), 60_000)).toBe(true);
      expect(c.nodes.map((n) => n.isValidator)).toEqual([false, true, true, true, true]);
      for (let k = 0; k < 6; k++) c.submit(`e${k}=${k}`);
      // Everyone, the follower included, ends on the same head.
      const sameHead = () => new Set(c.nodes.map((n) => `${n.height}:${toHex(n.tipHash)}`)).size === 1;
      expect(await c.run(() => all((i) => c.apps[i]!.get('e5') === '5') && sameHead(), 60_000)).toBe(true);

      // Every height at every node: the same block, verified against the validators of its epoch, attested by them.
      const g = genesisHash(c.genesisValidators);
      const e2 = c.nodes[1]!.epoch;
      const epochs: Epoch[] = [{ number: 0, since: 0, validators: c.genesisValidators, id: epochId(0, g, 0, c.genesisValidators) }, e1, e2];
      const epochOf = (h: number) => [...epochs].reverse().find((e) => e.since < h)!;
      await c.run(() => false, 500); // the last attestations
      const reference = await c.nodes[1]!.history(1, c.nodes[1]!.height);
      for (const node of c.nodes) {
        const h = await node.history(1, node.height);
        expect(h.map((x) => toHex(blockHash(x.block.header)))).toEqual(reference.map((x) => toHex(blockHash(x.block.header))));
        h.forEach(({ block, attestation }, i) => {
          const e = epochOf(block.header.height);
          expect(verifyBlock(block, e.validators, { epochId: e.id, genesisHash: g, ...(i > 0 ? { prev: h[i - 1]!.block.header } : {}) }).ok, `block ${block.header.height}`).toBe(
            true,
          );
          expect(attestation && verifyAttestation(block.header, attestation, e.validators, e.id).ok, `attestation ${block.header.height}`).toBe(true);
        });
      }
      expect(c.events.flat().filter((e) => e.kind === 'halted' || e.kind === 'outOfOrder')).toEqual([]);
      expect(c.events[4]!.filter((e) => e.kind === 'epochChanged').map((e) => e.kind === 'epochChanged' && [e.epoch, e.validator])).toEqual([
        [1, true],
        [2, true],
      ]);
      expect(c.events[0]!.filter((e) => e.kind === 'epochChanged').map((e) => e.kind === 'epochChanged' && [e.epoch, e.validator])).toEqual([
        [1, true],
        [2, false],
      ]);
      for (const n of c.nodes) await n.stop();
    },
    240_000,
  );

  it.each([71, 72, 73])(
    'seed %i: a validator down across the change catches up from its store over the epoch boundary and votes again',
    async (seed) => {
      const c = consortium(seed);
      for (const n of c.nodes) await n.start();
      const all = (pred: (i: number) => boolean) => c.nodes.every((_, i) => pred(i));
      for (let k = 0; k < 6; k++) c.submit(`a${k}=${k}`);
      expect(await c.run(() => all((i) => c.apps[i]!.get('a5') === '5'), 30_000)).toBe(true);
      await c.crash(2);
      // Without it, the other three genesis validators (a quorum of four) admit the fifth and move on, far
      // enough that their logs no longer hold what the crashed node missed.
      c.submit(`validators=${c.keys.slice(0, 5).map(toHex).join(',')}`);
      const up = [0, 1, 3, 4];
      for (let k = 0; k < 24; k++) {
        c.submit(`b${k}=${k}`);
        expect(await c.run(() => up.every((i) => c.apps[i]!.get(`b${k}`) === `${k}`), 30_000)).toBe(true);
      }
      expect(up.every((i) => c.nodes[i]!.epoch.number === 1)).toBe(true);
      const since = c.nodes[0]!.epoch.since;
      expect(c.nodes[0]!.height).toBeGreaterThan(since + 4 * K);

      await c.restart(2);
      expect(c.nodes[2]!.epoch.number).toBe(0); // its store ends before the change
      for (let k = 0; k < 12; k++) c.submit(`c${k}=${k}`);
      expect(await c.run(() => c.nodes[2]!.epoch.number === 1 && c.nodes[2]!.isValidator && all((i) => c.apps[i]!.get('c11') === '11'), 120_000)).toBe(true);
      expect(c.nodes[2]!.counters.followed).toBeGreaterThan(0); // it executed the blocks up to the change itself
      // It votes again: with node 0 now cut off, the five-validator epoch needs it for a quorum of four.
      await c.crash(0);
      for (let k = 0; k < 6; k++) c.submit(`d${k}=${k}`);
      expect(await c.run(() => [1, 2, 3, 4].every((i) => c.apps[i]!.get('d5') === '5'), 120_000)).toBe(true);
      expect(await c.run(() => new Set([1, 2, 3, 4].map((i) => `${c.nodes[i]!.height}:${toHex(c.nodes[i]!.tipHash)}`)).size === 1, 30_000)).toBe(true);
      expect(c.events.flat().filter((e) => e.kind === 'halted')).toEqual([]);
      for (const i of [1, 2, 3, 4]) await c.nodes[i]!.stop();
    },
    360_000,
  );
});
