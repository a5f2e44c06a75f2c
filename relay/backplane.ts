// Several relays serve one consortium by sharing topics over Redis pub/sub: each relay subscribes to the Redis
// channel of every topic it has local subscribers for, and publishes every publish it receives. A relay skips
// its own echoes by an instance id prefixed to each message. If Redis is down, local delivery goes on and
// ioredis reconnects; publishes made meanwhile reach only local subscribers (signaling retries cover it).

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from './log.ts';
import type { RelayMetrics } from './metrics.ts';
import type { Backplane, SignalingHub } from './signaling.ts';

const CHANNEL_PREFIX = 'hygeia:relay:topic:';

export class RedisBackplane implements Backplane {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly id = randomBytes(8).toString('hex');
  private readonly subscribed = new Set<string>();

  constructor(
    url: string,
    private readonly hub: SignalingHub,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
  ) {
    const opts = { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
    this.pub = new Redis(url, opts);
    this.sub = new Redis(url, opts);
    for (const [name, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('error', (err: Error) => {
        this.metrics.backplaneErrors.inc();
        this.log.warn('redis error', { client: name, error: err.message });
      });
    }
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  async connect(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
  }

  get ready(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  subscribe(topic: string): void {
    if (this.subscribed.has(topic)) return;
    this.subscribed.add(topic);
    this.sub.subscribe(CHANNEL_PREFIX + topic).catch((err: Error) => this.fail('subscribe', err));
  }

  unsubscribe(topic: string): void {
    if (!this.subscribed.delete(topic)) return;
    this.sub.unsubscribe(CHANNEL_PREFIX + topic).catch((err: Error) => this.fail('unsubscribe', err));
  }

  publish(topic: string, message: string): void {
    this.pub.publish(CHANNEL_PREFIX + topic, `${this.id}\n${message}`).catch((err: Error) => this.fail('publish', err));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(CHANNEL_PREFIX)) return;
    const nl = message.indexOf('\n');
    if (nl < 0) {
      this.metrics.backplaneErrors.inc();
      return;
    }
    if (message.slice(0, nl) === this.id) return;
    this.hub.deliverRemote(channel.slice(CHANNEL_PREFIX.length), message.slice(nl + 1));
  }

  private fail(op: string, err: Error): void {
    this.metrics.backplaneErrors.inc();
    this.log.warn('redis operation failed', { op, error: err.message });
  }
}
