import { describe, expect, it } from 'vitest';
import { lstatSync, readFileSync, readlinkSync, symlinkSync, existsSync } from 'node:fs';
import { execa } from 'execa';
import { programs, launcher, nodeFlags, FRONT_ENDS, frontEndTarget } from '../src/mkbins.ts';
import { ROOT, ours, tmpdir } from './helpers.ts';

describe('bin/ launchers', () => {
  it('exist and are up to date for every program (npm run bins)', () => {
    for (const [name, mod] of programs(ROOT)) {
      const p = `${ROOT}/bin/${name}`;
      if (FRONT_ENDS.has(name)) {
        expect(lstatSync(p).isSymbolicLink(), `${p} should be a link: run npm run bins`).toBe(true);
        expect(readlinkSync(p)).toBe(frontEndTarget(name));
        continue;
      }
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

  it('the native front ends run the Node program as the sh launchers would', async () => {
    const c = readFileSync(`${ROOT}/src/native/inject-client.c`, 'utf8');
    for (const name of FRONT_ENDS) expect(nodeFlags(name)).toBe(/#define NODE_FLAGS "([^"]*)"/.exec(c)![1]);
    // no qmail-queued under this home: the front end execs Node, whose sgetopt answers
    const d = tmpdir();
    symlinkSync(ours('qmail-inject'), `${d}/qmail-inject`);
    const r = await execa(`${d}/qmail-inject`, ['-z'], { env: { QMAILHOME: d }, extendEnv: false, reject: false, input: '' });
    expect([r.exitCode, r.stderr]).toEqual([100, 'qmail-inject: illegal option -- z']);
    const s = await execa(ours('sendmail'), ['-q'], { env: { QMAILHOME: d }, extendEnv: false, reject: false, input: '' });
    expect([s.exitCode, s.stderr]).toEqual([100, 'sendmail: illegal option -- q\nsendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]']);
  });
});
