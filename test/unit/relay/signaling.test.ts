// The signaling hub without sockets: compatibility with y-webrtc's reference server, the rooms and roles of
// PLAN.md (finding 13: who may subscribe where, a phone reaches clinics only, y-webrtc ids are the sender's
// own), limits and their close codes, and that one bad client never affects another.
import { describe, expect, it } from 'vitest';
import type { Principal, Role } from '../../../relay/auth.ts';
import { EnrolmentRegistry, enrolTopic } from '../../../relay/enrolments.ts';
import { CloseCode, DEFAULT_LIMITS, TokenBucket, type RelayLimits } from '../../../relay/limits.ts';
import { silentLogger } from '../../../relay/log.ts';
import { RelayMetrics } from '../../../relay/metrics.ts';
import { CONSORTIUM_ROOM, PATIENTS_ROOM } from '../../../relay/rooms.ts';
import { SignalingHub, type Backplane, type SignalingSocket } from '../../../relay/signaling.ts';

class FakeSocket implements SignalingSocket {
  sent: Record<string, unknown>[] = [];
  closedWith: { code: number; reason: string } | null = null;
  bufferedAmount = 0;
  send(utf8: Uint8Array): void {
    this.sent.push(JSON.parse(Buffer.from(utf8).toString('utf8')) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
}

const ROOM = `${CONSORTIUM_ROOM}/test`;
const CODE = 'c0'.repeat(32);

function setup(limits: Partial<RelayLimits> = {}, clock = { t: 0, wall: 1_000_000 }) {
  const metrics = new RelayMetrics({ defaultMetrics: false });
  const enrolments = new EnrolmentRegistry(() => clock.wall);
  const hub = new SignalingHub({
    limits: { ...DEFAULT_LIMITS, ...limits },
    metrics,
    log: silentLogger,
    enrolments,
    monotonic: () => clock.t,
    wallClock: () => clock.wall,
  });
  let n = 0;
  const connect = (role: Role = 'clinic', opts: { key?: string; codeHash?: string; expiresAt?: number } = {}) => {
    const socket = new FakeSocket();
    const key = opts.key ?? (n++).toString(16).padStart(2, '0').repeat(32);
    const principal: Principal = { key, role, codeHash: opts.codeHash ?? null, tokenExpiresAt: clock.wall + 60_000 };
    const conn = hub.open(socket, principal, opts.expiresAt);
    const send = (msg: unknown) => hub.receive(conn, typeof msg === 'string' ? msg : JSON.stringify(msg));
    return {
      socket,
      conn,
      key,
      send,
      subscribe: (...topics: string[]) => send({ type: 'subscribe', topics }),
      announce: (topic: string, from: string) => send({ type: 'publish', topic, data: { type: 'announce', from } }),
      signal: (topic: string, from: string, to: string, signal: unknown = { type: 'offer' }) => send({ type: 'publish', topic, data: { type: 'signal', from, to, signal } }),
      datas: () => socket.sent.filter((m) => m.type === 'publish').map((m) => m.data as Record<string, unknown>),
    };
  };
  return { hub, metrics, connect, clock, enrolments };
}

async function metricValue(metrics: RelayMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('SignalingHub protocol (y-webrtc compatible)', () => {
  it('relays an announce to every subscriber of the topic, the sender included, with clients set', () => {
    const { connect } = setup();
    const [a, b, c] = [connect(), connect(), connect()];
    a.subscribe(ROOM);
    b.subscribe(ROOM);
    c.subscribe(`${ROOM}-other`);
    a.announce(ROOM, 'peer-a');
    const expected = { type: 'publish', topic: ROOM, data: { type: 'announce', from: 'peer-a' }, clients: 2 };
    expect(a.socket.sent).toEqual([expected]);
    expect(b.socket.sent).toEqual([expected]);
    expect(c.socket.sent).toEqual([]);
  });

  it('delivers a signal with `to` only to the connection whose id that is', () => {
    const { connect } = setup();
    const [a, b, c] = [connect(), connect(), connect()];
    for (const x of [a, b, c]) x.subscribe(ROOM);
    b.announce(ROOM, 'peer-b');
    c.announce(ROOM, 'peer-c');
    a.signal(ROOM, 'peer-a', 'peer-b');
    expect(b.datas().filter((d) => d.type === 'signal')).toEqual([{ type: 'signal', from: 'peer-a', to: 'peer-b', signal: { type: 'offer' } }]);
    expect(c.datas().filter((d) => d.type === 'signal')).toEqual([]);
  });

  it('answers ping with pong and stops delivering after unsubscribe', () => {
    const { connect } = setup();
    const [a, b] = [connect(), connect()];
    a.send({ type: 'ping' });
    expect(a.socket.sent).toEqual([{ type: 'pong' }]);
    a.subscribe(ROOM);
    b.subscribe(ROOM);
    b.send({ type: 'unsubscribe', topics: [ROOM] });
    a.announce(ROOM, 'peer-a');
    expect(b.socket.sent).toEqual([]);
  });

  it('ignores unknown message types, as the reference does', () => {
    const { connect } = setup();
    const a = connect();
    a.send({ type: 'future-feature', x: 1 });
    expect(a.socket.closedWith).toBeNull();
  });

  it('forgets a closed connection, its ids and the topics only it held', () => {
    const { hub, connect } = setup();
    const a = connect();
    a.subscribe(ROOM, `${ROOM}/2`);
    a.announce(ROOM, 'peer-a');
    expect(hub.topicCount).toBe(2);
    hub.closed(a.conn);
    expect(hub.topicCount).toBe(0);
    expect(hub.connectionCount).toBe(0);
    // Its id is free again for whoever comes next.
    const b = connect();
    b.subscribe(ROOM);
    b.announce(ROOM, 'peer-a');
    expect(b.datas()).toHaveLength(1);
  });
});

describe('rooms and roles (finding 13)', () => {
  it('lets clinics, and only clinics, into the members room and its sub-rooms', () => {
    const { connect } = setup();
    const clinic = connect('clinic');
    clinic.subscribe(CONSORTIUM_ROOM, `${CONSORTIUM_ROOM}/fl`, PATIENTS_ROOM);
    expect(clinic.socket.closedWith).toBeNull();
    for (const role of ['patient', 'enrolling'] as const) {
      const phone = connect(role, { codeHash: CODE });
      phone.subscribe(CONSORTIUM_ROOM);
      expect(phone.socket.closedWith, role).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
    }
  });

  it("refuses topics that are nobody's", () => {
    const { connect } = setup();
    for (const topic of ['anything', `${CONSORTIUM_ROOM}x`, `${CONSORTIUM_ROOM}/`, 'hygeia/enrol/v1/abc', `hygeia/enrol/v1/${CODE}/x`]) {
      const c = connect('clinic');
      c.subscribe(topic);
      expect(c.socket.closedWith?.code, topic).toBe(CloseCode.Forbidden);
    }
  });

  it('makes the patients room a star: a phone reaches clinics only, a clinic reaches phones only', () => {
    const { connect } = setup();
    const [clinicA, clinicB, phone1, phone2] = [connect('clinic'), connect('clinic'), connect('patient'), connect('patient')];
    for (const x of [clinicA, clinicB, phone1, phone2]) x.subscribe(PATIENTS_ROOM);
    phone1.announce(PATIENTS_ROOM, 'p1');
    expect(clinicA.datas()).toEqual([{ type: 'announce', from: 'p1' }]);
    expect(clinicB.datas()).toEqual([{ type: 'announce', from: 'p1' }]);
    expect(phone2.datas()).toEqual([]);
    clinicA.announce(PATIENTS_ROOM, 'ca');
    expect(clinicB.datas()).toHaveLength(1); // still only the phone's announce
    expect(phone1.datas().filter((d) => d.from === 'ca')).toHaveLength(1);
    expect(phone2.datas().filter((d) => d.from === 'ca')).toHaveLength(1);
    // A phone addressing another phone directly gets nowhere either.
    phone2.announce(PATIENTS_ROOM, 'p2');
    phone1.signal(PATIENTS_ROOM, 'p1', 'p2');
    expect(phone2.datas().filter((d) => d.type === 'signal')).toEqual([]);
    phone1.signal(PATIENTS_ROOM, 'p1', 'ca');
    expect(clinicA.datas().filter((d) => d.type === 'signal')).toHaveLength(1);
  });

  it("drops a message whose from is not the sender's own id, or whose to names nobody", async () => {
    const { connect, metrics } = setup();
    const [a, b, c] = [connect(), connect(), connect()];
    for (const x of [a, b, c]) x.subscribe(ROOM);
    a.announce(ROOM, 'peer-a');
    b.announce(ROOM, 'peer-b');
    // c claims to be a and b: nothing goes out.
    c.signal(ROOM, 'peer-a', 'peer-b');
    c.announce(ROOM, 'peer-b');
    // a may not change its id either.
    a.signal(ROOM, 'peer-x', 'peer-b');
    a.signal(ROOM, 'peer-a', 'nobody');
    expect(b.datas().filter((d) => d.type === 'signal')).toEqual([]);
    expect(b.datas().filter((d) => d.from !== 'peer-b')).toEqual([{ type: 'announce', from: 'peer-a' }]);
    expect(await metricValue(metrics, 'hygeia_relay_dropped_messages_total', { reason: 'spoofed-from' })).toBe(3);
    expect(await metricValue(metrics, 'hygeia_relay_dropped_messages_total', { reason: 'unknown-to' })).toBe(1);
    for (const x of [a, b, c]) expect(x.socket.closedWith).toBeNull();
  });

  it('refuses a publish to a topic the connection did not subscribe to', () => {
    const { connect } = setup();
    const a = connect();
    a.announce(ROOM, 'peer-a');
    expect(a.socket.closedWith).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
  });

  it('lets an enrolling phone into its own enrolment room only, with the clinic that opened it', () => {
    const { connect, enrolments, clock } = setup();
    const desk = connect('clinic');
    const other = connect('clinic');
    enrolments.register(CODE, desk.key, clock.wall + 60_000);
    desk.subscribe(enrolTopic(CODE));
    expect(desk.socket.closedWith).toBeNull();
    other.subscribe(enrolTopic(CODE));
    expect(other.socket.closedWith?.code).toBe(CloseCode.Forbidden);
    const phone = connect('enrolling', { codeHash: CODE });
    phone.subscribe(enrolTopic(CODE));
    phone.announce(enrolTopic(CODE), 'phone');
    expect(desk.datas()).toEqual([{ type: 'announce', from: 'phone' }]);
    const stray = connect('enrolling', { codeHash: 'ab'.repeat(32) });
    stray.subscribe(enrolTopic(CODE));
    expect(stray.socket.closedWith?.code).toBe(CloseCode.Forbidden);
    stray.subscribe(PATIENTS_ROOM);
  });

  it('closes connections whose key lost its role when the ledger changes, and an enrolment when it ends', () => {
    const { hub, connect, clock } = setup();
    const [clinic, patient, stays] = [connect('clinic'), connect('patient'), connect('clinic')];
    const phone = connect('enrolling', { codeHash: CODE, expiresAt: clock.wall + 1000 });
    const roles = new Map<string, Role | null>([
      [clinic.key, null],
      [patient.key, null],
      [stays.key, 'clinic'],
      [phone.key, null],
    ]);
    expect(hub.revalidate((k) => (roles.get(k) as 'clinic' | 'patient' | null) ?? null)).toBe(2);
    expect(clinic.socket.closedWith).toEqual({ code: CloseCode.Forbidden, reason: 'membership-revoked' });
    expect(patient.socket.closedWith?.code).toBe(CloseCode.Forbidden);
    expect(stays.socket.closedWith).toBeNull();
    expect(phone.socket.closedWith).toBeNull();
    // The phone got registered: it reconnects as a patient.
    roles.set(phone.key, 'patient');
    hub.revalidate((k) => (roles.get(k) as 'clinic' | 'patient' | null) ?? null);
    expect(phone.socket.closedWith?.code).toBe(CloseCode.Forbidden);
    const late = connect('enrolling', { codeHash: CODE, expiresAt: clock.wall + 1000 });
    clock.wall += 2000;
    expect(hub.sweepExpired()).toBe(1);
    expect(late.socket.closedWith).toEqual({ code: CloseCode.TokenExpired, reason: 'enrolment-expired' });
  });
});

describe('SignalingHub limits', () => {
  const malformed: [string, string][] = [
    ['not JSON', '{"type":"publish",'],
    ['a JSON array', '[1,2,3]'],
    ['JSON null', 'null'],
    ['no type', '{"topic":"x"}'],
    ['a numeric type', '{"type":5}'],
    ['topics not an array', '{"type":"subscribe","topics":"room"}'],
    ['a non-string topic', '{"type":"subscribe","topics":[1]}'],
    ['an empty topic', '{"type":"subscribe","topics":[""]}'],
    ['publish without topic', '{"type":"publish","data":{}}'],
    ['publish data that is not an object', `{"type":"publish","topic":"${ROOM}","data":"encrypted"}`],
    ['publish data without from', `{"type":"publish","topic":"${ROOM}","data":{"type":"announce"}}`],
    ['a to that is not a string', `{"type":"publish","topic":"${ROOM}","data":{"type":"signal","from":"a","to":5}}`],
  ];
  for (const [what, frame] of malformed) {
    it(`closes a connection that sends ${what} with ${CloseCode.Malformed}, and only that one`, async () => {
      const { connect, metrics } = setup();
      const bad = connect();
      const good = connect();
      bad.subscribe(ROOM);
      good.subscribe(ROOM);
      bad.send(frame);
      expect(bad.socket.closedWith?.code).toBe(CloseCode.Malformed);
      good.announce(ROOM, 'good');
      expect(good.socket.closedWith).toBeNull();
      expect(good.socket.sent).toHaveLength(1);
      expect(await metricValue(metrics, 'hygeia_relay_rejections_total', { reason: 'malformed' })).toBe(1);
    });
  }

  it('closes a publish whose data nests too deeply to re-encode, without throwing', () => {
    const { connect } = setup({ maxFrameBytes: 1 << 22 });
    const a = connect();
    a.subscribe(ROOM);
    const deep = `{"type":"publish","topic":"${ROOM}","data":{"type":"signal","from":"a","signal":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    expect(() => a.send(deep)).not.toThrow();
    // Either V8 re-encodes it (delivered) or the connection is closed as malformed; never an exception.
    expect(a.socket.sent.length === 1 || a.socket.closedWith?.code === CloseCode.Malformed).toBe(true);
  });

  it('lets a peer burst 100 messages at once (WebRTC set-up) but closes a sustained flood with 4429', () => {
    const { connect, clock } = setup();
    const a = connect();
    a.subscribe(ROOM);
    for (let i = 0; i < 100; i++) a.announce(ROOM, 'peer-a');
    expect(a.socket.closedWith).toBeNull();
    // 100 per second sustained is fine...
    for (let s = 0; s < 5; s++) {
      clock.t += 1000;
      for (let i = 0; i < 100; i++) a.send({ type: 'ping' });
    }
    expect(a.socket.closedWith).toBeNull();
    // ...a flood is not.
    for (let i = 0; i < 1000 && !a.socket.closedWith; i++) a.send({ type: 'ping' });
    expect(a.socket.closedWith?.code).toBe(CloseCode.RateLimited);
  });

  it('closes a connection that subscribes to more topics than allowed with 4413', () => {
    const { connect } = setup({ maxTopicsPerConnection: 3 });
    const a = connect();
    a.subscribe(`${ROOM}/a`, `${ROOM}/b`, `${ROOM}/c`);
    expect(a.socket.closedWith).toBeNull();
    a.subscribe(`${ROOM}/d`);
    expect(a.socket.closedWith?.code).toBe(CloseCode.TooManyTopics);
  });

  it('closes a connection that names an overlong topic with 4413', () => {
    const { connect } = setup({ maxTopicLength: 24 });
    const a = connect();
    a.send({ type: 'publish', topic: 'x'.repeat(25), data: {} });
    expect(a.socket.closedWith?.code).toBe(CloseCode.TooManyTopics);
  });

  it('closes a receiver that cannot keep up with 4503, and keeps delivering to the others', () => {
    const { connect } = setup({ maxBufferedBytes: 100 });
    const slow = connect();
    const fast = connect();
    slow.subscribe(ROOM);
    fast.subscribe(ROOM);
    slow.socket.bufferedAmount = 101;
    fast.announce(ROOM, 'fast');
    expect(slow.socket.closedWith?.code).toBe(CloseCode.SlowConsumer);
    expect(fast.socket.sent).toHaveLength(1);
  });

  it('counts connections per key', () => {
    const { hub, connect } = setup();
    const key = 'ab'.repeat(32);
    const a = connect('clinic', { key });
    connect('clinic', { key });
    expect(hub.connectionsOf(key)).toBe(2);
    hub.closed(a.conn);
    expect(hub.connectionsOf(key)).toBe(1);
  });
});

describe('SignalingHub backplane', () => {
  it("publishes through the backplane with the sender's role, and applies the room rules to what arrives", () => {
    const { hub, connect } = setup();
    const calls: string[] = [];
    const bp: Backplane = {
      subscribe: (t) => calls.push(`sub ${t}`),
      unsubscribe: (t) => calls.push(`unsub ${t}`),
      publish: (t, m) => calls.push(`pub ${t} ${m}`),
    };
    hub.setBackplane(bp);
    const clinic = connect('clinic');
    const phone = connect('patient');
    clinic.subscribe(PATIENTS_ROOM);
    phone.subscribe(PATIENTS_ROOM);
    clinic.announce(PATIENTS_ROOM, 'c');
    // A phone on another relay announces: only the clinic hears it; another relay's clinic: only the phone.
    hub.deliverRemote(PATIENTS_ROOM, JSON.stringify({ r: 'patient', m: { type: 'publish', topic: PATIENTS_ROOM, data: { type: 'announce', from: 'far-phone' } } }));
    hub.deliverRemote(PATIENTS_ROOM, JSON.stringify({ r: 'clinic', m: { type: 'publish', topic: PATIENTS_ROOM, data: { type: 'announce', from: 'far-clinic' } } }));
    hub.deliverRemote(PATIENTS_ROOM, 'not json');
    // Addressed to a connection here.
    hub.deliverRemote(PATIENTS_ROOM, JSON.stringify({ r: 'patient', m: { type: 'publish', topic: PATIENTS_ROOM, data: { type: 'signal', from: 'far-phone', to: 'c' } } }));
    // A signal to an id this relay does not know goes through the backplane only.
    clinic.signal(PATIENTS_ROOM, 'c', 'far-phone');
    clinic.send({ type: 'unsubscribe', topics: [PATIENTS_ROOM] });
    phone.send({ type: 'unsubscribe', topics: [PATIENTS_ROOM] });
    expect(calls).toEqual([
      `sub ${PATIENTS_ROOM}`,
      `pub ${PATIENTS_ROOM} {"r":"clinic","m":{"type":"publish","topic":"${PATIENTS_ROOM}","data":{"type":"announce","from":"c"}}}`,
      `pub ${PATIENTS_ROOM} {"r":"clinic","m":{"type":"publish","topic":"${PATIENTS_ROOM}","data":{"type":"signal","from":"c","to":"far-phone","signal":{"type":"offer"}}}}`,
      `unsub ${PATIENTS_ROOM}`,
    ]);
    expect(clinic.datas().map((d) => `${d.type}:${d.from}`)).toEqual(['announce:c', 'announce:far-phone', 'signal:far-phone', 'signal:c']);
    expect(phone.datas().map((d) => `${d.type}:${d.from}`)).toEqual(['announce:c', 'announce:far-clinic']);
  });
});

describe('TokenBucket', () => {
  it('refills at its rate up to its burst', () => {
    const b = new TokenBucket(10, 2, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([true, true, false]);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
  });
});
