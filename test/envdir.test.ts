import { describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { theirs, tmpdir } from './helpers.ts';
import { both } from './compare.ts';
import { readEnvDir, envValue } from '../src/lib/envdir.ts';

const debian = theirs('envdir');

/** A directory holding one entry made by make(path). */
function oneEntry(make: (path: string) => void): string {
  const d = tmpdir();
  mkdirSync(`${d}/e`);
  make(`${d}/e/V`);
  return d;
}

describe('envdir', () => {
  it('processes values as the original: first line, trailing blanks, NUL -> newline', () => {
    expect(envValue(Buffer.from('a b \t\nsecond'))).toBe('a b');
    expect(envValue(Buffer.from('x\0y\t '))).toBe('x\ny');
    expect(envValue(Buffer.from('\n'))).toBe('');
  });

  it('reuses the previous buffer for a dangling symlink (openreadclose quirk)', () => {
    const d = tmpdir();
    writeFileSync(`${d}/A`, 'hello');
    symlinkSync('/nonexistent', `${d}/B`);
    const edits = readEnvDir(d);
    // readdir order decides which comes first; both outcomes are the original's
    const b = edits.find((e) => e.name === 'B')!;
    expect(edits[0].name === 'B' ? b.value : b.value === 'hello\n').toBe(edits[0].name === 'B' ? undefined : true);
  });

  const cases: Array<[string, (p: string) => void]> = [
    ['plain value', (p) => writeFileSync(p, 'value')],
    ['two lines, trailing blanks', (p) => writeFileSync(p, 'one  \t \ntwo\n')],
    ['NULs and CR', (p) => writeFileSync(p, 'a\0b\rc\0\n')],
    ['only blanks', (p) => writeFileSync(p, ' \t \n')],
    ['empty file removes', (p) => writeFileSync(p, '')],
    ['dangling symlink removes', (p) => symlinkSync('/nonexistent/x', p)],
    ['subdirectory', (p) => mkdirSync(p)],
  ];
  for (const [what, make] of cases) {
    it.skipIf(!debian)(`matches Debian envdir: ${what}`, async () => {
      const d = oneEntry(make);
      writeFileSync(`${d}/e/.hidden`, 'ignored');
      const env = { PATH: '/usr/bin:/bin', PWD: d, V: 'old', W: 'w' };
      const [a, b] = await both('envdir', ['e', 'env'], { cwd: d, env });
      // environ order is not compared: our sh launcher re-exports variables in its own order
      const sorted = (r: typeof a) => ({ ...r, stdout: r.stdout.split('\n').sort().join('\n') });
      expect(sorted(a)).toEqual(sorted(b));
    });
  }

  it.skipIf(!debian)('matches Debian envdir: usage (111), missing and non-directories, unrunnable child', async () => {
    const d = tmpdir();
    writeFileSync(`${d}/file`, '');
    mkdirSync(`${d}/e`);
    const env = { PATH: '/usr/bin:/bin', PWD: d };
    for (const args of [[], ['e'], ['missing', 'true'], ['file', 'true'], ['e', 'nonexistent-prog'], ['e', './file'], ['-x', 'true']]) {
      const [a, b] = await both('envdir', args, { cwd: d, env });
      expect(a).toEqual(b);
    }
  });

  it.skipIf(!debian)('finds the child on the old PATH, not one set by the directory', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/e`);
    mkdirSync(`${d}/bin`);
    writeFileSync(`${d}/bin/prog`, '#!/bin/sh\necho from-bin "$PATH"\n', { mode: 0o755 });
    writeFileSync(`${d}/e/PATH`, `${d}/bin`);
    const env = { PATH: '/usr/bin:/bin', PWD: d };
    const [a, b] = await both('envdir', ['e', 'prog'], { cwd: d, env });
    expect(a).toEqual(b);
    expect(a.exitCode).toBe(111);
    // and with the old PATH holding an empty element (= cwd) and a directory
    const [c, e] = await both('envdir', ['../e', 'prog'], { cwd: `${d}/bin`, env: { PATH: `/nonexistent::/usr/bin`, PWD: `${d}/bin` } });
    expect(c).toEqual(e);
    expect(c.stdout).toBe(`from-bin ${d}/bin\n`);
  });
});
