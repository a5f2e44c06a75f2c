// The signaling hub without sockets: protocol compatibility with y-webrtc's reference server, limits and their
// close codes, and that one bad client never affects another.
import { describe, expect, it } from 'vitest';
import { CloseCode, DEFAULT_LIMITS, TokenBucket, type RelayLimits } from '../../../relay/limits.ts';
import { silentLogger } from '../../../relay/log.ts';
import { RelayMetrics } from '../../../relay/metrics.ts';
import { SignalingHub, type Backplane, type SignalingSocket } from '../../../relay/signaling.ts';

class FakeSocket implements SignalingSocket {
  sent: unknown[] = [];
  closedWith: { code: number; reason: string } | null = null;
  bufferedAmount = 0;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
}

function setup(limits: Partial<RelayLimits> = {}, clock = { t: 0, wall: 1_000_000 }) {
  const metrics = new RelayMetrics({ defaultMetrics: false });
  const hub = new SignalingHub({
    limits: { ...DEFAULT_LIMITS, ...limits },
    metrics,
    log: silentLogger,
    monotonic: () => clock.t,
    wallClock: () => clock.wall,
  });
  let n = 0;
  const connect = (expiresAt = clock.wall + 60_000, key = `${(n++).toString(16).padStart(2, '0')}`.repeat(32)) => {
    const socket = new FakeSocket();
    const conn = hub.open(socket, { publicKey: key, name: `m${n}` }, expiresAt);
    return { socket, conn, send: (msg: unknown) => hub.receive(conn, typeof msg === 'string' ? msg : JSON.stringify(msg)) };
  };
  return { hub, metrics, connect, clock };
}

async function metricValue(metrics: RelayMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('SignalingHub protocol (y-webrtc compatible)', () => {
  it('relays a publish to every subscriber of the topic, the sender included, with clients set', () => {
    const { connect } = setup();
    const a = connect();
    const b = connect();
    const c = connect();
    a.send({ type: 'subscribe', topics: ['room'] });
    b.send({ type: 'subscribe', topics: ['room'] });
    c.send({ type: 'subscribe', topics: ['other'] });
    a.send({ type: 'publish', topic: 'room', data: { type: 'announce', from: 'peer-a' } });
    const expected = { type: 'publish', topic: 'room', data: { type: 'announce', from: 'peer-a' }, clients: 2 };
    expect(a.socket.sent).toEqual([expected]);
    expect(b.socket.sent).toEqual([expected]);
    expect(c.socket.sent).toEqual([]);
  });

  it('answers ping with pong and stops delivering after unsubscribe', () => {
    const { connect } = setup();
    const a = connect();
    const b = connect();
    a.send({ type: 'ping' });
    expect(a.socket.sent).toEqual([{ type: 'pong' }]);
    b.send({ type: 'subscribe', topics: ['t'] });
    b.send({ type: 'unsubscribe', topics: ['t'] });
    a.send({ type: 'publish', topic: 't', data: 1 });
    expect(b.socket.sent).toEqual([]);
  });

  it('ignores unknown message types, as the reference does', () => {
    const { connect } = setup();
    const a = connect();
    a.send({ type: 'future-feature', x: 1 });
    expect(a.socket.closedWith).toBeNull();
  });

  it('forgets a closed connection and the topics only it held', () => {
    const { hub, connect } = setup();
    const a = connect();
    a.send({ type: 'subscribe', topics: ['x', 'y'] });
    expect(hub.topicCount).toBe(2);
    hub.closed(a.conn);
    expect(hub.topicCount).toBe(0);
    expect(hub.connectionCount).toBe(0);
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
  ];
  for (const [what, frame] of malformed) {
    it(`closes a connection that sends ${what} with ${CloseCode.Malformed}, and only that one`, async () => {
      const { connect, metrics } = setup();
      const bad = connect();
      const good = connect();
      good.send({ type: 'subscribe', topics: ['room'] });
      bad.send(frame);
      expect(bad.socket.closedWith?.code).toBe(CloseCode.Malformed);
      good.send({ type: 'publish', topic: 'room', data: 'still fine' });
      expect(good.socket.closedWith).toBeNull();
      expect(good.socket.sent).toHaveLength(1);
      expect(await metricValue(metrics, 'hygeia_relay_rejections_total', { reason: 'malformed' })).toBe(1);
    });
  }

  it('closes a publish whose data nests too deeply to re-encode, without throwing', () => {
    const { connect } = setup({ maxFrameBytes: 1 << 22 });
    const a = connect();
    a.send({ type: 'subscribe', topics: ['t'] });
    const deep = `{"type":"publish","topic":"t","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect(() => a.send(deep)).not.toThrow();
    // Either V8 re-encodes it (delivered) or the connection is closed as malformed; never an exception.
    expect(a.socket.sent.length === 1 || a.socket.closedWith?.code === CloseCode.Malformed).toBe(true);
  });

  it('lets a peer burst 100 messages at once (WebRTC set-up) but closes a sustained flood with 4429', () => {
    const { connect, clock } = setup();
    const a = connect();
    for (let i = 0; i < 100; i++) a.send({ type: 'publish', topic: 't', data: i });
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
    a.send({ type: 'subscribe', topics: ['a', 'b', 'c'] });
    expect(a.socket.closedWith).toBeNull();
    a.send({ type: 'subscribe', topics: ['d'] });
    expect(a.socket.closedWith?.code).toBe(CloseCode.TooManyTopics);
  });

  it('closes a connection that names an overlong topic with 4413', () => {
    const { connect } = setup({ maxTopicLength: 8 });
    const a = connect();
    a.send({ type: 'publish', topic: 'x'.repeat(9), data: 1 });
    expect(a.socket.closedWith?.code).toBe(CloseCode.TooManyTopics);
  });

  it('closes a receiver that cannot keep up with 4503, and keeps delivering to the others', () => {
    const { connect } = setup({ maxBufferedBytes: 100 });
    const slow = connect();
    const fast = connect();
    slow.send({ type: 'subscribe', topics: ['t'] });
    fast.send({ type: 'subscribe', topics: ['t'] });
    slow.socket.bufferedAmount = 101;
    fast.send({ type: 'publish', topic: 't', data: 1 });
    expect(slow.socket.closedWith?.code).toBe(CloseCode.SlowConsumer);
    expect(fast.socket.sent).toHaveLength(1);
  });

  it('closes connections whose token expired with 4401', () => {
    const { hub, connect, clock } = setup({ clockSkewMs: 0 });
    const shortLived = connect(clock.wall + 1000);
    const longLived = connect(clock.wall + 100_000);
    clock.wall += 5000;
    expect(hub.sweepExpired()).toBe(1);
    expect(shortLived.socket.closedWith?.code).toBe(CloseCode.TokenExpired);
    expect(longLived.socket.closedWith).toBeNull();
  });

  it('counts connections per member', () => {
    const { hub, connect } = setup();
    const key = 'ab'.repeat(32);
    const a = connect(undefined, key);
    connect(undefined, key);
    expect(hub.connectionsOf(key)).toBe(2);
    hub.closed(a.conn);
    expect(hub.connectionsOf(key)).toBe(1);
  });
});

describe('SignalingHub backplane', () => {
  it('publishes through the backplane and delivers what other relays publish', () => {
    const { hub, connect } = setup();
    const calls: string[] = [];
    const bp: Backplane = {
      subscribe: (t) => calls.push(`sub ${t}`),
      unsubscribe: (t) => calls.push(`unsub ${t}`),
      publish: (t, m) => calls.push(`pub ${t} ${m}`),
    };
    hub.setBackplane(bp);
    const a = connect();
    a.send({ type: 'subscribe', topics: ['room'] });
    a.send({ type: 'publish', topic: 'room', data: 'x' });
    hub.deliverRemote('room', JSON.stringify({ type: 'publish', topic: 'room', data: 'from afar' }));
    hub.deliverRemote('room', 'not json');
    a.send({ type: 'unsubscribe', topics: ['room'] });
    expect(calls).toEqual(['sub room', 'pub room {"type":"publish","topic":"room","data":"x"}', 'unsub room']);
    expect(a.socket.sent).toEqual([
      { type: 'publish', topic: 'room', data: 'x', clients: 1 },
      { type: 'publish', topic: 'room', data: 'from afar', clients: 1 },
    ]);
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
