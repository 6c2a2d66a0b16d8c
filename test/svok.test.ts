import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { ours, theirs, tmpdir } from './helpers.ts';

const debian = theirs('svok');

describe('svok', () => {
  it.skipIf(!debian)('answers like Debian svok for missing dirs, no supervise and a plain ok file', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/none`);
    mkdirSync(`${d}/file/supervise`, { recursive: true });
    writeFileSync(`${d}/file/supervise/ok`, '');
    for (const args of [[], ['missing'], ['none'], ['file']]) {
      const a = await execa(ours('svok'), args, { cwd: d, reject: false });
      const b = await execa(debian!, args, { cwd: d, reject: false });
      expect([a.exitCode, a.stdout, a.stderr.replace(/^\S*svok/, 'svok')]).toEqual([
        b.exitCode,
        b.stdout,
        b.stderr.replace(/^\S*svok/, 'svok'),
      ]);
    }
  });
});
