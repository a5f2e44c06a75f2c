// A phone's two WebRtcTransports against a real relay, in process: the enrolment transport (its relay tokens
// scoped to one one-time code) and the patients'-room transport (unscoped), side by side in one page as
// `startPatient` opens them. The scoped one gets a signaling connection of its own that the relay admits to that
// enrolment's room and no other, where the registering clinic hears it; the unscoped one is refused until the
// ledger registers the phone's key, and then joins the patients' room while the enrolment connection is closed.
// No peer connections are opened here (Node has no RTCPeerConnection): this is about the relay's doors. The
// browser end of the same transports is test/e2e/webrtc.test.ts.
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../../relay/server.ts';
import { RelayLedger } from '../../../relay/ledger.ts';
import { silentLogger } from '../../../relay/log.ts';
import { enrolTopic } from '../../../relay/enrolments.ts';
import { CONSORTIUM_ROOM, PATIENTS_ROOM } from '../../../relay/rooms.ts';
import { enrolmentScope, RelayClient } from '../../../web/src/core/net/index.ts';
import { WebRtcTransport, WebRtcTransportError } from '../../../web/src/core/net/webrtc.ts';
import { TestChain, devConsortium, type DevClinic } from './chain.ts';
import { collect, eventually, openSocket, strangerKey, tokenUrl } from './helpers.ts';

let relay: Relay;
let clinics: DevClinic[];
let chain: TestChain;
const opened: WebRtcTransport[] = [];

beforeAll(async () => {
  // lib0's signaling client dials with the global WebSocket, which this Node does not have.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  let genesis;
  ({ genesis, clinics } = await devConsortium(4));
  chain = await TestChain.start(genesis, clinics);
  relay = new Relay({ port: 0, genesis, ledger: RelayLedger.open({ genesis, dir: null, log: silentLogger }), log: silentLogger, defaultMetrics: false });
  await relay.start();
}, 120_000);

afterAll(async () => {
  for (const t of opened) await t.close();
  await relay?.stop();
});

function transport(secretKey: Uint8Array, room: string, scope?: string): WebRtcTransport {
  const t = new WebRtcTransport({ secretKey, relayUrl: relay.signalingUrl, room, ...(scope === undefined ? {} : { scope }) });
  opened.push(t);
  return t;
}

const codeHashOf = (code: string): string => createHash('sha256').update(code).digest('hex');

describe("a phone's enrolment transport", () => {
  it('refuses a scope that is not an enrolment of one code hash', () => {
    const phone = strangerKey();
    for (const scope of ['enrol:xyz', 'member', `enrol:${'AB'.repeat(32)}`]) {
      expect(() => new WebRtcTransport({ secretKey: phone.secretKey, relayUrl: 'ws://127.0.0.1:1', room: 'x', scope })).toThrow(WebRtcTransportError);
    }
  });

  it('is admitted to its enrolment room only, beside an unscoped transport the relay refuses until the ledger registers the phone', async () => {
    const codeHash = codeHashOf('tulip 4411 harbour');
    const topic = enrolTopic(codeHash);
    const desk = clinics[1]!;
    await new RelayClient({ relayUrl: relay.signalingUrl, secretKey: desk.secretKey }).registerEnrolment(codeHash, Date.now() + 5 * 60_000);
    const deskSock = await openSocket(tokenUrl(desk, relay.signalingUrl));
    if (!deskSock.ok) throw new Error(`the desk clinic was refused: ${deskSock.body}`);
    const atDesk = collect(deskSock.ws);
    deskSock.ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));

    const phone = strangerKey();
    const main = transport(phone.secretKey, PATIENTS_ROOM);
    const enrolment = transport(phone.secretKey, topic, enrolmentScope(codeHash));
    expect(enrolment.scope).toBe(enrolmentScope(codeHash));
    expect(main.scope).toBe('');

    await eventually(() => relay.hub.subscribers(topic) === 2, 'the phone to join its enrolment room');
    await eventually(() => atDesk.some((m) => (m as { data?: { type?: string } }).data?.type === 'announce'), "the desk to hear the phone's announce");
    // Give a wrongly routed subscribe (the patients' room on the enrolment connection) time to get it closed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(enrolment.relayState).toBe('connected');
    expect(relay.hub.subscribers(topic)).toBe(2);
    // The unscoped transport's token names a key the ledger does not know: refused, so one connection only.
    expect(relay.hub.connectionsOf(phone.publicKey)).toBe(1);
    expect(main.relayState).not.toBe('connected');
    expect(relay.hub.subscribers(PATIENTS_ROOM)).toBe(0);

    // The clinic registers the phone's key on the ledger; the relay verifies the block and lets the phone in
    // as a patient, and closes the enrolment connection (the key is no longer an unregistered one).
    const blocks = await chain.registerPatientKey(desk, phone.publicKey, 'p-enrolled');
    await new RelayClient({ relayUrl: relay.signalingUrl, secretKey: desk.secretKey }).pushBlocks(blocks);
    await eventually(() => relay.hub.subscribers(PATIENTS_ROOM) === 1, 'the registered phone to join the patients room', 15_000);
    expect(main.relayState).toBe('connected');
    await eventually(() => relay.hub.subscribers(topic) === 1, 'the enrolment connection to be closed');
    // The patient's connection never carried the validators' room or the enrolment room.
    expect(relay.hub.subscribers(CONSORTIUM_ROOM)).toBe(0);
    deskSock.ws.close();
  }, 60_000);
});
