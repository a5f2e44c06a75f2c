// The channel registry: one byte per subsystem, distinct, and messages read back on their own channel only.
import { describe, expect, it } from 'vitest';
import { CHANNELS, CHANNEL_PBFT, CHANNEL_RELEASE, channelOf, onChannel, payloadOn } from '../../../web/src/core/net/index.ts';

describe('channels', () => {
  it('gives every subsystem its own byte, the letters of PLAN.md', () => {
    expect(CHANNELS).toEqual({ greeting: 0x47, pbft: 0x50, state: 0x53, attest: 0x41, release: 0x52, fl: 0x46, patient: 0x4c, consult: 0x43, request: 0x51 });
    expect(new Set(Object.values(CHANNELS)).size).toBe(Object.keys(CHANNELS).length);
  });

  it('frames a payload on a channel and reads it back only there', () => {
    const m = onChannel(CHANNEL_PBFT, Uint8Array.of(1, 2));
    expect(m).toEqual(Uint8Array.of(0x50, 1, 2));
    expect(channelOf(m)).toBe('pbft');
    expect(payloadOn(CHANNEL_PBFT, m)).toEqual(Uint8Array.of(1, 2));
    expect(payloadOn(CHANNEL_RELEASE, m)).toBeNull();
    expect(channelOf(new Uint8Array(0))).toBeNull();
    expect(channelOf(Uint8Array.of(0x00))).toBeNull();
  });
});
