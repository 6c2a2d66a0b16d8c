import { describe, expect, it } from 'vitest';
import { format, fromUnix, now, pack, parse, toUnix, unpack, TAI_EPOCH } from '../src/lib/tai64.ts';

describe('tai64', () => {
  it('labels the Unix epoch 2^62+10 and round-trips', () => {
    expect(format(fromUnix(0))).toBe('@400000000000000a00000000');
    const t = fromUnix(1_700_000_000, 123_456_500);
    expect(parse(format(t))).toEqual(t);
    expect(unpack(pack(t))).toEqual(t);
    expect(toUnix(t)).toBe(1_700_000_000n);
    expect(pack(t).toString('hex')).toBe(format(t).slice(1));
  });
  it('now() is close to Date.now() and ends in 500 ns', () => {
    const t = now();
    expect(Number(t.sec - TAI_EPOCH) - Date.now() / 1000).toBeLessThan(2);
    expect(t.nano % 1000).toBe(500);
  });
  it('rejects malformed labels', () => {
    expect(parse('@4000')).toBeUndefined();
    expect(parse('400000000000000a00000000')).toBeUndefined();
  });
});
