import { describe, expect, it } from 'vitest';
import { readFileSync, symlinkSync, existsSync } from 'node:fs';
import { execa } from 'execa';
import { programs, launcher } from '../src/mkbins.ts';
import { ROOT, ours, tmpdir } from './helpers.ts';

describe('bin/ launchers', () => {
  it('exist and are up to date for every program (npm run bins)', () => {
    for (const [name, mod] of programs(ROOT)) {
      const p = `${ROOT}/bin/${name}`;
      expect(existsSync(p), `${p} missing: run npm run bins`).toBe(true);
      expect(readFileSync(p, 'utf8'), `${p} stale: run npm run bins`).toBe(launcher(name, mod));
    }
  });

  it('work from another directory and through a symlink', async () => {
    const d = tmpdir();
    symlinkSync(ours('svok'), `${d}/svok`);
    const r = await execa(`${d}/svok`, ['.'], { cwd: '/', reject: false });
    expect(r.exitCode).toBe(100);
    const u = await execa(`${d}/svok`, [], { cwd: d, reject: false });
    expect(u.exitCode).toBe(100);
    expect(u.stderr).toBe('svok: usage: svok dir');
  });
});
