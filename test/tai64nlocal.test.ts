import { describe, expect, it } from 'vitest';
import { theirs } from './helpers.ts';
import { both } from './compare.ts';
import { civil, parsePosixTz, zoneFor } from '../src/lib/localtime.ts';

const debian = theirs('tai64nlocal');

/** `@` + 24 hex digits for Unix time t and nanoseconds n. */
function label(t: number, n: number): string {
  return '@' + (BigInt(t) + (1n << 62n) + 10n).toString(16).padStart(16, '0') + n.toString(16).padStart(8, '0');
}

/** Labelled lines from 1890 to 2100 (every ~9 days plus an hour), plus DST edges of 2024 in several zones. */
function sample(): string {
  const lines: string[] = [];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let t = -2524521600; t < 4102444800; t += 86400 * 9 + 3607) lines.push(`${label(t, rnd() * 2)} x`);
  for (const edge of [1711846800, 1711846800 - 1, 1730595600, 1730595600 - 1, 1710054000, 1710054000 - 1, 1730613600, 1730613600 - 1]) {
    for (const d of [-3600, 0, 3600]) lines.push(`${label(edge + d, 500)} edge`);
  }
  lines.push(`${label(1483228826, 0)} leap`, `${label(1483228827, 0)} after`);
  return lines.join('\n') + '\n';
}

describe('localtime', () => {
  it('computes civil time for any offset, before 1970 too', () => {
    expect(civil(0, 0)).toMatchObject({ year: 1970, mon: 1, mday: 1, hour: 0, wday: 4, yday: 0 });
    expect(civil(-1, 3600)).toMatchObject({ year: 1970, mon: 1, mday: 1, hour: 0, min: 59, sec: 59 });
    expect(civil(-62167219200, 0)).toMatchObject({ year: 0, mon: 1, mday: 1 });
    expect(civil(951782400, 0)).toMatchObject({ year: 2000, mon: 2, mday: 29, yday: 59 });
  });
  it('evaluates POSIX rules and rejects malformed strings', () => {
    const ny = parsePosixTz('EST5EDT,M3.2.0,M11.1.0')!;
    expect(ny.localtime(1710054000 - 1)).toMatchObject({ hour: 1, min: 59, isdst: false });
    expect(ny.localtime(1710054000)).toMatchObject({ hour: 3, min: 0, isdst: true });
    expect(parsePosixTz('AB5')).toBeUndefined();
    expect(parsePosixTz('ABC')).toBeUndefined();
    expect(zoneFor('garbage').localtime(0)).toMatchObject({ hour: 0, gmtoff: 0 });
  });
});

describe('tai64nlocal', () => {
  const input = sample();
  const zones: Array<string | undefined> = [
    undefined,
    '',
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    ':Europe/London',
    ':',
    'EST5EDT,M3.2.0,M11.1.0',
    // DST without rules: posixrules' transitions (offsets equal to the file's; other offsets are a known gap)
    'FOO5BAR',
    'AEST-10AEDT,M10.1.0,M4.1.0/3',
    'NZST-12NZDT,J60/2,300/-1',
    '<+0330>-3:30',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'right/UTC',
    '/usr/share/zoneinfo/Pacific/Chatham',
    'no-such-zone',
  ];
  for (const tz of zones) {
    it.skipIf(!debian)(`matches Debian byte for byte with TZ=${tz === undefined ? '(unset)' : JSON.stringify(tz)}`, async () => {
      const env: Record<string, string> = { PATH: '/usr/bin:/bin', PWD: '/' };
      if (tz !== undefined) env.TZ = tz;
      const [a, b] = await both('tai64nlocal', [], { env, input });
      expect(a).toEqual(b);
    });
  }

  it.skipIf(!debian)('matches Debian on odd input: uppercase hex, other terminators, CR/NUL, no @, EOF in a label', async () => {
    const l = label(1700000000, 123456789);
    const inputs = [
      // uppercase hex ends the label (labels cut short crash the reference: not tested)
      `${l}ABCDEF upper\n${l.slice(0, 25)}F${l.slice(25)}\n`,
      `${l}\tTAB\n${l}\r\n${l}\0nul\n${l}`,
      `${l}\n${l}x`,
      `plain\n\0\r\n@\x00`.slice(0, 9),
      `@0000000${l.slice(1)} leading zeros\n`,
      `no label\n  ${l}\n`,
      `${l} no final newline`,
      `${l.slice(0, 20)}`,
    ];
    for (const input of inputs) {
      const [a, b] = await both('tai64nlocal', [], { env: { TZ: 'Europe/Berlin' }, input });
      expect(a, JSON.stringify(input)).toEqual(b);
    }
  });
});
