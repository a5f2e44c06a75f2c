// The clinic node end to end (issue 11), driven through `window.hygeia` in real Chromium: the relay as
// `npm start` runs it with a fresh development consortium, four clinic tablets (each its own profile) forming
// the PBFT ledger over WebRTC, a patient's phone. Every figure is read from the pages themselves.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey, initCore } from '../../../wasm/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { eventually, freePort } from '../../integration/relay/helpers.ts';
import { startTurn, type TurnProcess } from '../../integration/relay/turn.ts';
import { open, openClinic, openPhone, SYNTHEA, startStack, status, type Stack } from '../ui/stack.ts';
import { agreeOnHead, call, snap, syntheaBundle, type Snapshot } from './pages.ts';

const FILE = readdirSync(SYNTHEA).find((f) => f.startsWith('Cris921'))!;
const BUNDLE = syntheaBundle(FILE);
const PATIENT_ID = BUNDLE.entry.find((e) => e.resource.resourceType === 'Patient')!.resource.id;
const CONDITIONS = BUNDLE.entry.filter((e) => e.resource.resourceType === 'Condition').length;
const DAY = 86_400_000;

describe('four clinic tablets and a phone over WebRTC', () => {
  let stack: Stack;
  const clinics: Page[] = [];
  let phone: Page;

  beforeAll(async () => {
    stack = await startStack();
    // The ledger commits with three of four, so all four are up before anything is asked of it.
    clinics.push(...(await Promise.all([1, 2, 3, 4].map((n) => openClinic(stack, n)))));
    phone = await openPhone(stack);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('form one ledger: every tablet names the same four validators and agrees on height and head hash', async () => {
    const head = await agreeOnHead(clinics);
    await eventually(async () => (await Promise.all(clinics.map(snap))).every((s) => s.peers.length === 3), 'every tablet linked to the three others', 60_000);
    for (const s of await Promise.all(clinics.map(snap))) {
      expect(s.role).toBe('clinic');
      expect(s.ledger.validators).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4']);
    }
    expect(head.headHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs each tablet’s node in a Web Worker: the page holds the links and the screens, not the replica', async () => {
    for (const page of clinics) {
      const nodes = page.workers().filter((w) => /\/clinic-node-[^/]*\.js$/.test(w.url()));
      expect(nodes).toHaveLength(1);
      expect(await nodes[0]!.evaluate(() => (self as unknown as { name: string }).name)).toBe('clinic-node');
    }
    const s = await snap(clinics[0]!);
    expect(s.ledger.height).toBeGreaterThan(0);
  });

  it('anchors an import at one clinic on all four replicas', async () => {
    const r = await call<{ imported: Record<string, number>; rejected: unknown[] }>(clinics[0]!, 'importBundle', BUNDLE);
    expect(Object.values(r.imported).reduce((a, b) => a + b, 0)).toBe(BUNDLE.entry.length);
    expect(r.rejected).toEqual([]);
    await eventually(
      async () => (await Promise.all(clinics.map((p) => call<number>(p, 'anchoredRecords', 'clinic-1')))).every((n) => n === BUNDLE.entry.length),
      'the anchors on every replica',
      60_000,
    );
    await agreeOnHead(clinics);
  });

  let consentId: string;
  it('links the phone with a one-time code; the phone grants consent and the second clinic receives exactly the consented resources, verified', async () => {
    const { code } = await call<{ code: string }>(clinics[0]!, 'enrolPatient', PATIENT_ID);
    await call(phone, 'link', code);
    ({ consentId } = await call<{ consentId: string }>(phone, 'grantConsent', { grantee: 'clinic-2', purpose: 'TREAT', resourceTypes: ['Condition'], end: Date.now() + 30 * DAY }));
    let granted: { consentId: string; patient: string; holder: string; purpose: string; resourceTypes: string[] }[] = [];
    await eventually(async () => (granted = await call(clinics[1]!, 'consentsGranted')).some((c) => c.consentId === consentId), 'the consent at clinic-2', 60_000);
    const consent = granted.find((c) => c.consentId === consentId)!;
    expect(consent).toMatchObject({ holder: 'clinic-1', purpose: 'TREAT', resourceTypes: ['Condition'] });
    // Clinic-2 asks clinic-1 for the patient's records of these types, for treatment.
    const ask = (resourceTypes: string[]) =>
      call<{ decision: string; reason: string; resources: number }>(clinics[1]!, 'requestAccess', {
        holder: 'clinic-1',
        patient: consent.patient,
        purpose: 'TREAT',
        resourceTypes,
      });
    const result = await ask(['Condition']);
    expect(result.decision).toBe('permit');
    expect(result.resources).toBe(CONDITIONS);
    // Out of the consent's scope: another resource type is denied and nothing arrives.
    const wrongType = await ask(['Observation']);
    expect(wrongType).toMatchObject({ decision: 'deny', resources: 0 });

    await call(phone, 'revokeConsent', consentId);
    await eventually(
      async () => !(await call<{ consentId: string }[]>(clinics[1]!, 'consentsGranted')).some((c) => c.consentId === consentId),
      'the revocation at clinic-2',
      60_000,
    );
    const after = await ask(['Condition']);
    expect(after).toMatchObject({ decision: 'deny', resources: 0 });
  }, 240_000);

  it('shows the patient every decision in the audit trail, each verified on the phone', async () => {
    type Entry = { time: number; actor: string; purpose: string; decision: string; verified: boolean };
    let entries: Entry[] = [];
    await eventually(
      async () =>
        (entries = (await call<{ entries: Entry[] }>(phone, 'auditTrail')).entries.filter((e) => e.actor === 'clinic-2')).length === 3 && entries.every((e) => e.verified),
      'three verified entries',
      90_000,
    );
    expect(entries.map((e) => e.decision).sort()).toEqual(['deny', 'deny', 'permit']);
    expect(entries.every((e) => e.purpose === 'TREAT' && e.time > 0)).toBe(true);
  }, 120_000);

  it('keeps committing with one tablet closed, and the reopened tablet catches up to the same head', async () => {
    const closedContext: BrowserContext = clinics[3]!.context();
    await clinics[3]!.close();
    const before = (await snap(clinics[0]!)).ledger.height;
    await call(clinics[0]!, 'proposeAgreement', { partner: 'clinic-3', purposes: ['HPAYMT'], end: Date.now() + DAY });
    await agreeOnHead(clinics.slice(0, 3), before + 1);
    clinics[3] = await open(stack, '/?dev=clinic-4', undefined, closedContext);
    await eventually(async () => (await status(clinics[3]!)) === 'ready', 'clinic-4 to start again', 90_000);
    const head = await agreeOnHead(clinics, before + 1);
    expect(head.height).toBeGreaterThan(before);
  }, 240_000);

  /** Commits filler agreements at clinic-1 until `done` holds on the pages' snapshots. */
  async function commitUntil(pages: Page[], done: (s: Snapshot[]) => boolean, what: string, ms = 180_000): Promise<void> {
    await eventually(
      async () => {
        if (done(await Promise.all(pages.map(snap)))) return true;
        await call(clinics[0]!, 'proposeAgreement', { partner: 'clinic-2', purposes: ['HPAYMT'], end: Date.now() + DAY });
        return false;
      },
      what,
      ms,
    );
  }

  it('cuts a removed clinic off: its peers and the relay drop it at once, and it leaves the validators at the next checkpoint', async () => {
    await call(clinics[0]!, 'proposeRemoval', 'clinic-4');
    for (const p of [clinics[1]!, clinics[2]!]) await call(p, 'approveRemoval', 'clinic-4');
    const stayers = clinics.slice(0, 3);
    await eventually(async () => (await Promise.all(stayers.map(snap))).every((s) => !s.peers.includes('clinic-4')), 'the stayers to drop clinic-4', 30_000);
    await eventually(async () => (await snap(clinics[3]!)).peers.length === 0, 'clinic-4 cut off from every peer', 30_000);
    const cut = (await snap(clinics[3]!)).ledger.height;
    await commitUntil(stayers, (s) => s.every((x) => x.ledger.validators.join() === 'clinic-1,clinic-2,clinic-3'), 'clinic-4 out of the validators everywhere');
    // The three go on committing without it, past whatever it had when it was cut off.
    await commitUntil(stayers, (s) => s.every((x) => x.ledger.height > cut), 'the stayers past the cut');
    const head = await agreeOnHead(stayers, cut + 1);
    // The removed tablet learns nothing more: the relay and its peers no longer serve it.
    expect((await snap(clinics[3]!)).ledger.height).toBeLessThan(head.height);
  }, 300_000);

  it('admits a fifth clinic by the ledger: outside the consortium until a quorum approves, then a validator from the next checkpoint', async () => {
    await initCore();
    const seed = new Prng(2026).bytes(32);
    const publicKey = toHex(ed25519PublicKey(seed));
    writeFileSync(join(stack.devDir, 'keys', 'clinic-5.json'), JSON.stringify({ id: 'clinic-5', name: 'clinic-5', publicKey, seed: toHex(seed) }));
    const fifth = await open(stack, '/?dev=clinic-5');
    await eventually(async () => (await status(fifth)) === 'not-member', 'the fifth tablet to start outside the consortium', 90_000);
    expect((await snap(fifth)).peers).toEqual([]);

    const members = clinics.slice(0, 3);
    await call(members[0]!, 'proposeMember', { name: 'clinic-5', publicKey, validator: true });
    // Approvals until a quorum of the three validators (quorumSize(3) = 2, the proposer's included) admits it.
    for (const p of members.slice(1)) {
      const view = await call<{ members: { name: string }[] }>(p, 'consortium');
      if (view.members.some((m) => m.name === 'clinic-5')) break;
      await call(p, 'approveMember', 'clinic-5');
    }
    await eventually(async () => (await status(fifth)) === 'ready', 'the fifth tablet to learn it is a member', 60_000);
    await eventually(async () => (await snap(members[0]!)).peers.includes('clinic-5'), 'the fifth tablet among its peers', 30_000);
    const all = [...members, fifth];
    await commitUntil(all, (s) => s.every((x) => x.ledger.validators.join() === 'clinic-1,clinic-2,clinic-3,clinic-5'), 'clinic-5 a validator on every tablet');
    await agreeOnHead(all);
  }, 300_000);
});

describe('through TURN only', () => {
  let stack: Stack;
  let turn: TurnProcess;
  afterAll(async () => {
    await stack?.close();
    await turn?.stop();
  });

  it('with the ICE transport policy "relay" and coturn on loopback, four tablets form the ledger through TURN', async () => {
    turn = await startTurn(await freePort());
    stack = await startStack({
      ICE_SERVERS: JSON.stringify([{ urls: `turn:127.0.0.1:${turn.port}?transport=udp`, username: turn.username, credential: turn.password }]),
      ICE_TRANSPORT_POLICY: 'relay',
    });
    const pages = await Promise.all([1, 2, 3, 4].map((n) => openClinic(stack, n)));
    await agreeOnHead(pages);
    await eventually(async () => (await Promise.all(pages.map(snap))).every((s) => s.peers.length === 3), 'every tablet linked to the three others through TURN', 60_000);
    expect(turn.allocations()).toBeGreaterThanOrEqual(6);
  }, 300_000);
});
