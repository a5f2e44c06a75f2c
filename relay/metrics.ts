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
  readonly connections = this.gauge('connections', 'Open authenticated signaling connections');
  readonly topics = this.gauge('topics', 'Topics with at least one local subscriber');
  readonly messages = this.counter('messages_total', 'Signaling messages received from clients, by type', 'type');
  readonly deliveries = this.counter('deliveries_total', 'Publish messages delivered to local subscribers, by where they were published', 'origin');
  readonly rejections = this.counter('rejections_total', 'Refused upgrades and closed connections, by reason', 'reason');
  readonly dropped = this.counter(
    'dropped_messages_total',
    'Publishes not delivered: a spoofed y-webrtc from id, an unknown addressee, or a receiver the room does not allow',
    'reason',
  );
  readonly ledgerHeight = this.gauge('ledger_height', 'Height of the ledger the relay verified');
  readonly blocks = this.counter('blocks_total', 'Blocks pushed to the relay, by outcome (accepted, refused)', 'outcome');
  readonly backplaneErrors = this.counter('backplane_errors_total', 'Redis backplane errors');

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'hygeia_relay_' });
  }

  /** A gauge hygeia_relay_<name> in this relay's registry. */
  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name: `hygeia_relay_${name}`, help, registers: [this.registry] });
  }

  /** A counter hygeia_relay_<name> in this relay's registry, with one label when `label` is given. */
  private counter<L extends string = never>(name: string, help: string, label?: L): Counter<L> {
    return new Counter<L>({ name: `hygeia_relay_${name}`, help, labelNames: label === undefined ? [] : [label], registers: [this.registry] });
  }

  reject(reason: RejectionReason): void {
    this.rejections.inc({ reason });
  }
}
