// Prometheus metrics for one relay instance, in its own registry (several relays can live in one test process).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type RejectionReason =
  | 'no-token'
  | 'bad-token'
  | 'expired-token'
  | 'wrong-relay'
  | 'not-member'
  | 'replayed-token'
  | 'too-many-failures'
  | 'enrolment-closed'
  | 'enrolment-expired'
  | 'membership-revoked'
  | 'forbidden-topic'
  | 'busy'
  | 'bad-host'
  | 'too-many-connections'
  | 'shutting-down'
  | 'malformed'
  | 'oversize'
  | 'rate-limited'
  | 'too-many-topics'
  | 'slow-consumer';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly topics: Gauge;
  readonly messages: Counter<'type'>;
  readonly deliveries: Counter<'origin'>;
  readonly rejections: Counter<'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly ledgerHeight: Gauge;
  readonly blocks: Counter<'outcome'>;
  readonly backplaneErrors: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.connections = new Gauge({
      name: 'hygeia_relay_connections',
      help: 'Open authenticated signaling connections',
      registers,
    });
    this.topics = new Gauge({ name: 'hygeia_relay_topics', help: 'Topics with at least one local subscriber', registers });
    this.messages = new Counter({
      name: 'hygeia_relay_messages_total',
      help: 'Signaling messages received from clients, by type',
      labelNames: ['type'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'hygeia_relay_deliveries_total',
      help: 'Publish messages delivered to local subscribers, by where they were published',
      labelNames: ['origin'],
      registers,
    });
    this.rejections = new Counter({
      name: 'hygeia_relay_rejections_total',
      help: 'Refused upgrades and closed connections, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.dropped = new Counter({
      name: 'hygeia_relay_dropped_messages_total',
      help: 'Publishes not delivered: a spoofed y-webrtc from id, an unknown addressee, or a receiver the room does not allow',
      labelNames: ['reason'],
      registers,
    });
    this.ledgerHeight = new Gauge({ name: 'hygeia_relay_ledger_height', help: 'Height of the ledger the relay verified', registers });
    this.blocks = new Counter({
      name: 'hygeia_relay_blocks_total',
      help: 'Blocks pushed to the relay, by outcome (accepted, refused)',
      labelNames: ['outcome'],
      registers,
    });
    this.backplaneErrors = new Counter({
      name: 'hygeia_relay_backplane_errors_total',
      help: 'Redis backplane errors',
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'hygeia_relay_' });
  }

  reject(reason: RejectionReason): void {
    this.rejections.inc({ reason });
  }
}
