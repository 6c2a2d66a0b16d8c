import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ours, theirs } from './helpers.ts';
import { both } from './compare.ts';
import { stampChunk } from '../src/lib/stamp.ts';

const debian = theirs('tai64n');
const LABEL = /@[0-9a-f]{24} /g;

describe('tai64n', () => {
  it('inserts the chunk label at every line start, across chunk boundaries', () => {
    const label = Buffer.from('@400000000000000a000001f4 ');
    const out = Buffer.alloc(1000);
    let [n, at] = stampChunk(Buffer.from('ab\ncd'), label, true, out);
    expect(out.toString('latin1', 0, n)).toBe(`${label}ab\n${label}cd`);
    expect(at).toBe(false);
    [n, at] = stampChunk(Buffer.from('e\n\n'), label, at, out);
    expect(out.toString('latin1', 0, n)).toBe(`e\n${label}\n`);
    expect(at).toBe(true);
  });

  it.skipIf(!debian)('frames lines like Debian: empty input, CR/NUL, empty lines, no final newline, args ignored', async () => {
    for (const input of ['', 'a\n', 'one\ntwo\r\n\n\0x\0\nlast', '\n\n\n', 'x'.repeat(200000) + '\ny\n']) {
      const [a, b] = await both('tai64n', ['ignored', '-x'], { input });
      expect(a.stdout.replace(LABEL, '@L ')).toBe(b.stdout.replace(LABEL, '@L '));
      expect([a.exitCode, a.stderr]).toEqual([b.exitCode, b.stderr]);
    }
  });

  it('labels are now, end in 500 ns, and are taken when a line starts', async () => {
    const p = execa(ours('tai64n'), { buffer: true });
    // first make sure tai64n is up and reading (start-up time varies with load)
    const ready = new Promise<void>((r) => p.stdout!.once('data', () => r()));
    p.stdin!.write('ready\n');
    await ready;
    p.stdin!.write('a');
    await new Promise((r) => setTimeout(r, 300));
    p.stdin!.end('b\nc\n');
    const { stdout } = await p;
    const lines = stdout.split('\n').slice(1);
    expect(lines.map((l) => l.slice(26))).toEqual(['ab', 'c']);
    const t = lines.map((l) => Number(BigInt('0x' + l.slice(1, 17)) - (1n << 62n) - 10n) + parseInt(l.slice(17, 25), 16) / 1e9);
    for (const l of lines) expect(parseInt(l.slice(17, 25), 16) % 1000).toBe(500);
    expect(Math.abs(t[0] - Date.now() / 1000)).toBeLessThan(5);
    expect(t[1] - t[0]).toBeGreaterThan(0.2);
  });
});
