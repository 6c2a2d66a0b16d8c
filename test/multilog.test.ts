import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { match } from '../src/lib/multilog/match.ts';
import { parseScript } from '../src/lib/multilog/script.ts';
import { tmpdir } from './helpers.ts';
import { both, debian, randomInput } from './multilog-helpers.ts';

const b = (s: string): Buffer => Buffer.from(s);
const m = (p: string, l: string): boolean => match(b(p), b(l), 0, Buffer.byteLength(l));

describe('multilog patterns', () => {
  it('matches as match.c does: literal, star to the first next byte, no backtracking', () => {
    expect(m('hello', 'hello')).toBe(true);
    expect(m('hello', 'hello world')).toBe(false);
    expect(m('*', 'anything')).toBe(true);
    expect(m('*', '')).toBe(true);
    expect(m('named[*]: Cleaned cache *', 'named[135]: Cleaned cache of 3121 RRs')).toBe(true);
    expect(m('*b', 'abab')).toBe(false); // skips to the first b only
    expect(m('*b*', 'abab')).toBe(true);
    expect(m('a*', 'a')).toBe(true);
    expect(m('', '')).toBe(true);
    expect(m('', 'x')).toBe(false);
  });
});

describe('multilog script', () => {
  it('keeps t only first, clamps s and n, takes processors for later dirs', () => {
    const sc = parseScript(['t', 's100', 'n1', './a', '!cat', 's99999999', 'n5', '/b', 't', 'xyz', 'e']);
    expect(sc.timestamp).toBe(true);
    expect(sc.dirs).toEqual([
      { path: './a', size: 4096, num: 2 },
      { path: '/b', size: 16777215, num: 5, processor: 'cat' },
    ]);
    expect(sc.actions.map((a) => a.kind)).toEqual(['dir', 'dir', 'alert']);
    expect(parseScript(['e', 't']).timestamp).toBe(false);
  });
});

describe.skipIf(!debian)('multilog against Debian multilog (regular-file stdin)', () => {
  const scripts = [
    ['s4096', './d'],
    ['t', 's4096', 'n3', './d'],
    ['t', '-*', '+@* *fatal*', 's5000', './d'],
    ['e', '=st', '-*x*', 's4096', 'n4', './d2', '+*x*', '=st2', './d'],
  ];
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`same files, states, status files and alerts for random input ${seed}`, async () => {
      const input = randomInput(seed);
      for (const [i, script] of scripts.entries()) {
        const [a, c] = await both(`${tmpdir()}/${i}`, script, input);
        expect(a).toEqual(c);
      }
    });
  }

  it('default size, 10 files: 1.2 MB of 80-byte lines with and without t', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 15000; i++) lines.push(`line ${i} `.padEnd(79, 'x') + '\n');
    for (const script of [['./d'], ['t', './d']]) {
      const [a, c] = await both(tmpdir(), script, lines.join(''));
      expect(a).toEqual(c);
      expect((a.files.d as unknown[]).length).toBe(12); // 9 old files + current, lock, state
    }
  });

  it('lines longer than SIZE, a partial last line, e and = on long lines', async () => {
    const input = 'short\n' + 'L'.repeat(20000) + '\n' + 'y'.repeat(1500) + '\n' + 'tail';
    const [a, c] = await both(tmpdir(), ['t', 'e', '=st', 's4096', 'n20', './d'], input);
    expect(a).toEqual(c);
    expect(a.stderr.split('\n')[1]).toMatch(/^@T L{174}\.\.\.$/);
    expect((a.files.st as string).length).toBe(1001 - 23); // label shortened to @T
  });

  it('a clean restart continues current and cuts at the same places', async () => {
    for (const seed of [7, 8]) {
      const base = tmpdir();
      await both(base, ['t', 's4500', 'n4', './d'], randomInput(seed));
      const [a, c] = await both(base, ['t', 's4500', 'n4', './d'], randomInput(seed + 100));
      expect(a).toEqual(c);
    }
  });

  it('no arguments: reads and discards; empty input: empty current', async () => {
    const [a, c] = await both(tmpdir(), [], 'x\n');
    expect(a).toEqual(c);
    const [d, e] = await both(tmpdir(), ['t', './d'], '');
    expect(d).toEqual(e);
  });

  it('start-up failures: same fatal messages and exit codes', async () => {
    for (const script of [['./nodir/sub'], ['=nodir/f'], ['./file'], ['t', '=file/x']]) {
      const base = tmpdir();
      for (const w of ['ours', 'theirs']) {
        mkdirSync(`${base}/${w}`);
        writeFileSync(`${base}/${w}/file`, '');
      }
      const [a, c] = await both(base, script, 'x\n');
      expect(a).toEqual(c);
      expect(a.exitCode).toBe(111);
    }
  });
});
