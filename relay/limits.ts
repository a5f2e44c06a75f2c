// What one connection may do, and the WebSocket close codes that say which limit it broke. 4000-4999 are the
// application range of RFC 6455; the last three digits echo the nearest HTTP status so they read at a glance.

export interface RelayLimits {
  /** Largest frame accepted; larger ones close the connection with 1009 (ws enforces it while reading). */
  readonly maxFrameBytes: number;
  /** Sustained messages per second per connection (token-bucket refill rate). */
  readonly messagesPerSecond: number;
  /** Messages a connection may send at once before the rate applies (bucket size). */
  readonly messageBurst: number;
  /** Topics one connection may be subscribed to at once. */
  readonly maxTopicsPerConnection: number;
  /** Longest topic name, in UTF-16 code units. */
  readonly maxTopicLength: number;
  /** Open connections one member key may hold at once (tabs, devices sharing a key). */
  readonly maxConnectionsPerMember: number;
  /** A receiver whose socket holds more unsent bytes than this is too slow to keep: it is closed. */
  readonly maxBufferedBytes: number;
  /** Longest token lifetime accepted: a token that expires later than now + this is refused. */
  readonly maxTokenLifetimeMs: number;
  /** Failed authentications one remote address may make per minute (sustained) ... */
  readonly failedTokensPerMinute: number;
  /** ... and at once, before it is turned away without any check. */
  readonly failedTokenBurst: number;
  /** Largest body of POST /v1/ledger/blocks. */
  readonly maxBlocksBodyBytes: number;
  /** Clock skew tolerated between a member and the relay when checking expiry. */
  readonly clockSkewMs: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxFrameBytes: 64 * 1024,
  // WebRTC set-up bursts: an offer or answer plus a dozen ICE candidates per peer, times a room's peers.
  messagesPerSecond: 100,
  messageBurst: 300,
  maxTopicsPerConnection: 64,
  maxTopicLength: 256,
  maxConnectionsPerMember: 8,
  maxBufferedBytes: 4 * 1024 * 1024,
  // Minutes, not hours (finding 10): a token opens one connection or request; members mint fresh ones.
  maxTokenLifetimeMs: 10 * 60 * 1000,
  failedTokensPerMinute: 30,
  failedTokenBurst: 30,
  maxBlocksBodyBytes: 32 * 1024 * 1024,
  clockSkewMs: 60 * 1000,
};

export const CloseCode = {
  /** The relay is shutting down; reconnect elsewhere or later. */
  GoingAway: 1001,
  /** Frame larger than maxFrameBytes (standard code, sent by ws). */
  TooBig: 1009,
  /** Not a JSON object with a known shape. */
  Malformed: 4400,
  /** The enrolment the connection was admitted for has expired. */
  TokenExpired: 4401,
  /** The ledger no longer admits the key (removed, revoked), or it subscribed where its role may not go. */
  Forbidden: 4403,
  /** More topics than maxTopicsPerConnection, or a topic name too long. */
  TooManyTopics: 4413,
  /** More messages than the rate limit allows. */
  RateLimited: 4429,
  /** The connection could not keep up with what it subscribed to. */
  SlowConsumer: 4503,
} as const;

/** A token bucket: `take()` is false once the connection sends faster than `rate` beyond `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Tokens available now (refilled up to `now`). */
  available(now: number): number {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
    return this.tokens;
  }

  take(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Reads a limit from the environment: a positive integer or the default. */
export function limitsFromEnv(env: NodeJS.ProcessEnv, base: RelayLimits = DEFAULT_LIMITS): RelayLimits {
  const pick = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return v;
  };
  return {
    maxFrameBytes: pick('HYGEIA_MAX_FRAME_BYTES', base.maxFrameBytes),
    messagesPerSecond: pick('HYGEIA_MESSAGES_PER_SECOND', base.messagesPerSecond),
    messageBurst: pick('HYGEIA_MESSAGE_BURST', base.messageBurst),
    maxTopicsPerConnection: pick('HYGEIA_MAX_TOPICS', base.maxTopicsPerConnection),
    maxTopicLength: pick('HYGEIA_MAX_TOPIC_LENGTH', base.maxTopicLength),
    maxConnectionsPerMember: pick('HYGEIA_MAX_CONNECTIONS_PER_MEMBER', base.maxConnectionsPerMember),
    maxBufferedBytes: pick('HYGEIA_MAX_BUFFERED_BYTES', base.maxBufferedBytes),
    maxTokenLifetimeMs: pick('HYGEIA_MAX_TOKEN_LIFETIME_MS', base.maxTokenLifetimeMs),
    failedTokensPerMinute: pick('HYGEIA_FAILED_TOKENS_PER_MINUTE', base.failedTokensPerMinute),
    failedTokenBurst: pick('HYGEIA_FAILED_TOKEN_BURST', base.failedTokenBurst),
    maxBlocksBodyBytes: pick('HYGEIA_MAX_BLOCKS_BODY_BYTES', base.maxBlocksBodyBytes),
    clockSkewMs: pick('HYGEIA_CLOCK_SKEW_MS', base.clockSkewMs),
  };
}
