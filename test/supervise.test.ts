/**
 * supervise: differential tests against Debian's daemontools. Debian's svc,
 * svstat and svok drive our supervise and ours drive Debian's; the status
 * bytes (timestamp and pid normalised) and svstat lines must match step by
 * step. Tests run concurrently: most of their time is supervise's 1-second
 * sleeps after each start.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, openSync, closeSync, constants, readFileSync, symlinkSync, writeSync, chmodSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { ours, theirs, tmpdir, until } from './helpers.ts';
import { mkservice, normSvstat, pidOf, shape, sleep, startSupervise, status, stopSupervise } from './sv-helpers.ts';

const deb = { supervise: theirs('supervise'), svc: theirs('svc'), svstat: theirs('svstat'), svok: theirs('svok') };
const haveDebian = !!(deb.supervise && deb.svc && deb.svstat && deb.svok);

/** Expected normalised status: running?, paused byte, want byte. */
function want(up: boolean, paused: 0 | 1, w: 'u' | 'd' | ''): string {
  const b = Buffer.alloc(18);
  b.writeUInt32LE(up ? 1 : 0, 12);
  b[16] = paused;
  b[17] = w === '' ? 0 : w.charCodeAt(0);
  return b.toString('hex');
}

async function svstatOut(bin: string, dir: string): Promise<string> {
  return (await execa(bin, [dir], { reject: false })).stdout;
}

describe.concurrent('supervise', () => {
  it.skipIf(!haveDebian)('u d o p c t x: same status bytes and svstat lines, Debian tools on ours and ours on Debian', async () => {
    const root = tmpdir();
    mkservice(root, 'a', 'exec sleep 100');
    mkservice(root, 'b', 'exec sleep 100');
    const A = await startSupervise(ours('supervise'), root, 'a'); // driven by Debian's svc/svstat
    const B = await startSupervise(deb.supervise!, root, 'b'); // driven by ours
    try {
      const steps: Array<[string, string]> = [
        ['', want(true, 0, 'u')],
        ['-d', want(false, 0, 'd')],
        ['-u', want(true, 0, 'u')],
        ['-p', want(true, 1, 'u')],
        ['-c', want(true, 0, 'u')],
        ['-o', want(true, 0, '')],
        ['-d', want(false, 0, 'd')],
        ['-o', want(true, 0, '')],
        ['-t', want(false, 0, '')],
        ['-u', want(true, 0, 'u')],
        ['-pd', want(false, 0, 'd')],
      ];
      for (const [cmd, expected] of steps) {
        if (cmd) {
          await execa(deb.svc!, [cmd, A.dir]);
          await execa(ours('svc'), [cmd, B.dir]);
        }
        await until(() => shape(status(A.dir)) === expected && shape(status(B.dir)) === expected, 5000);
        for (let tries = 0; ; tries++) {
          const lines = [
            await svstatOut(deb.svstat!, A.dir),
            await svstatOut(ours('svstat'), A.dir),
            await svstatOut(ours('svstat'), B.dir),
            await svstatOut(deb.svstat!, B.dir),
          ].map((l) => normSvstat(l.replace(/^\S+: /, '')));
          if (new Set(lines).size === 1 || tries === 2) {
            expect(lines[1], `after ${cmd}`).toBe(lines[0]);
            expect(lines[2], `after ${cmd}`).toBe(lines[0]);
            expect(lines[3], `after ${cmd}`).toBe(lines[0]);
            break;
          }
        }
      }
      await execa(deb.svc!, ['-x', A.dir]);
      await execa(ours('svc'), ['-x', B.dir]);
      expect(await Promise.all([A.done, B.done])).toEqual([0, 0]);
      expect(shape(status(A.dir))).toBe(shape(status(B.dir)));
      expect((await execa(deb.svok!, [A.dir], { reject: false })).exitCode).toBe(100);
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  it.skipIf(!haveDebian)('a normally-down service: same status and svstat; svc -u starts it', async () => {
    const root = tmpdir();
    mkservice(root, 'a', 'exec sleep 100', true);
    mkservice(root, 'b', 'exec sleep 100', true);
    const A = await startSupervise(ours('supervise'), root, 'a');
    const B = await startSupervise(deb.supervise!, root, 'b');
    try {
      await until(() => status(A.dir) !== undefined && status(B.dir) !== undefined);
      expect(shape(status(A.dir))).toBe(want(false, 0, 'd'));
      expect(shape(status(B.dir))).toBe(want(false, 0, 'd'));
      expect(normSvstat(await svstatOut(deb.svstat!, A.dir))).toBe(normSvstat(await svstatOut(ours('svstat'), A.dir)));
      await execa(deb.svc!, ['-u', A.dir]);
      await execa(ours('svc'), ['-u', B.dir]);
      await until(() => pidOf(A.dir) !== 0 && pidOf(B.dir) !== 0);
      const a = normSvstat((await svstatOut(deb.svstat!, A.dir)).replace(/^\S+: /, ''));
      expect(a).toBe('up (pid P) S seconds, normally down');
      expect(normSvstat((await svstatOut(ours('svstat'), B.dir)).replace(/^\S+: /, ''))).toBe(a);
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  // ours when it is there, else Debian's: the point is the pid semantics
  const sug = existsSync(ours('setuidgid')) ? ours('setuidgid') : theirs('setuidgid');
  it.skipIf(!sug)('svc -d ends the very process setuidgid exec()ed into (pid in status = pid of sleep)', async () => {
    const root = tmpdir();
    mkservice(root, 's', `exec ${sug!} nobody sleep 1000`);
    const S = await startSupervise(ours('supervise'), root, 's');
    try {
      await until(() => {
        const p = pidOf(S.dir);
        return p !== 0 && readFileSync(`/proc/${p}/cmdline`, 'latin1') === 'sleep\x001000\x00';
      }, 5000);
      const pid = pidOf(S.dir);
      expect(readFileSync(`/proc/${pid}/status`, 'latin1')).toMatch(/\nUid:\s+65534\s/);
      await execa(deb.svc ?? ours('svc'), ['-d', S.dir]);
      await until(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z'), 3000);
      await until(() => pidOf(S.dir) === 0, 3000);
    } finally {
      await stopSupervise(S);
    }
  });

  it('a run that exits is restarted about one second after its previous start, not sooner', async () => {
    const root = tmpdir();
    mkservice(root, 's', 'date +%s%N >> starts; exit 0');
    const S = await startSupervise(ours('supervise'), root, 's');
    try {
      await sleep(3300);
    } finally {
      await stopSupervise(S);
    }
    const t = readFileSync(`${S.dir}/starts`, 'latin1').trim().split('\n').map((l) => Number(BigInt(l) / 1_000_000n));
    expect(t.length).toBeGreaterThanOrEqual(3);
    expect(t.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBeGreaterThanOrEqual(950);
  });

  it.skipIf(!haveDebian)('a run that cannot be executed is reported once a second like Debian does, never busy-looped', async () => {
    const root = tmpdir();
    const cases = ['noexec', 'missing', 'noshebang'];
    for (const who of ['o', 'd']) {
      mkservice(root, `${who}noexec`, 'exit 0');
      chmodSync(`${root}/${who}noexec/run`, 0o644);
      mkdirSync(`${root}/${who}missing`);
      mkdirSync(`${root}/${who}noshebang`);
      writeFileSync(`${root}/${who}noshebang/run`, 'echo hi\n', { mode: 0o755 });
    }
    const runs = await Promise.all(
      cases.flatMap((c) => [startSupervise(ours('supervise'), root, `o${c}`), startSupervise(deb.supervise!, root, `d${c}`)]),
    );
    const t0 = Date.now();
    await sleep(2500);
    await Promise.all(runs.map((r) => stopSupervise(r)));
    const secs = (Date.now() - t0) / 1000;
    const results = runs.map((r) => r.out());
    for (let i = 0; i < cases.length; i++) {
      const o = results[2 * i].split('\n').filter(Boolean);
      const d = results[2 * i + 1].split('\n').filter(Boolean);
      expect(new Set(o.map((l) => l.replace(`o${cases[i]}`, 'X')))).toEqual(new Set(d.map((l) => l.replace(`d${cases[i]}`, 'X'))));
      expect(o.length).toBeGreaterThanOrEqual(2);
      expect(o.length).toBeLessThanOrEqual(Math.ceil(secs) + 1);
    }
    expect(results[0]).toContain('supervise: fatal: unable to start onoexec/run: access denied');
    expect(results[2]).toContain('supervise: fatal: unable to start omissing/run: file does not exist');
    expect(results[4]).toContain('supervise: fatal: unable to start onoshebang/run: exec format error');
  });

  it.skipIf(!haveDebian)('a command sent in the second after a start waits for that second, like Debian', async () => {
    const root = tmpdir();
    mkservice(root, 'a', 'exec sleep 100');
    mkservice(root, 'b', 'exec sleep 100');
    const [A, B] = await Promise.all([startSupervise(ours('supervise'), root, 'a'), startSupervise(deb.supervise!, root, 'b')]);
    try {
      const t0 = Date.now();
      await Promise.all([execa(ours('svc'), ['-d', A.dir]), execa(ours('svc'), ['-d', B.dir])]);
      await sleep(200);
      if (Date.now() - t0 < 600) {
        expect(shape(status(A.dir))).toBe(want(true, 0, 'u'));
        expect(shape(status(B.dir))).toBe(want(true, 0, 'u'));
      }
      await until(() => shape(status(A.dir)) === want(false, 0, 'd') && shape(status(B.dir)) === want(false, 0, 'd'), 3000);
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  it.skipIf(!haveDebian)('ignores bytes that are not commands', async () => {
    const root = tmpdir();
    mkservice(root, 'a', 'exec sleep 100');
    mkservice(root, 'b', 'exec sleep 100');
    const A = await startSupervise(ours('supervise'), root, 'a');
    const B = await startSupervise(deb.supervise!, root, 'b');
    try {
      for (const r of [A, B]) {
        const fd = openSync(`${r.dir}/supervise/control`, constants.O_WRONLY | constants.O_NONBLOCK);
        writeSync(fd, Buffer.from([0x7a, 0x00, 0xff, 0x55, 0x0a, 0x20, 0x44, 0x58]));
        closeSync(fd);
      }
      await sleep(1300);
      expect(shape(status(A.dir))).toBe(want(true, 0, 'u'));
      expect(shape(status(B.dir))).toBe(want(true, 0, 'u'));
      expect((await execa(deb.svok!, [A.dir], { reject: false })).exitCode).toBe(0);
      await execa(deb.svc!, ['-d', A.dir]);
      await until(() => shape(status(A.dir)) === want(false, 0, 'd'));
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  it.skipIf(!haveDebian)('usage, missing dir and a held lock: same messages and exit codes as Debian', async () => {
    const root = tmpdir();
    mkservice(root, 'a', 'exec sleep 100');
    mkservice(root, 'b', 'exec sleep 100');
    const cmp = async (args: string[]): Promise<void> => {
      const o = await execa(ours('supervise'), args, { cwd: root, reject: false });
      const d = await execa(deb.supervise!, args, { cwd: root, reject: false });
      expect([o.exitCode, o.stderr], args.join(' ')).toEqual([d.exitCode, d.stderr]);
    };
    await cmp([]);
    await cmp(['a', 'b']);
    await cmp(['missing']);
    const A = await startSupervise(ours('supervise'), root, 'a');
    const B = await startSupervise(deb.supervise!, root, 'b').catch(async (e: unknown) => {
      await stopSupervise(A);
      throw e;
    });
    try {
      for (const dir of ['a', 'b']) {
        expect([A.proc.exitCode, B.proc.exitCode], 'first supervise still running').toEqual([null, null]);
        // a second supervise must give up at once; the timeout turns a lock that was not held into a failure
        const o = await execa(ours('supervise'), [dir], { cwd: root, reject: false, timeout: 15000 });
        const d = await execa(deb.supervise!, [dir], { cwd: root, reject: false, timeout: 15000 });
        expect([o.exitCode, o.stderr]).toEqual([111, `supervise: fatal: unable to acquire ${dir}/supervise/lock: temporary failure`]);
        expect([d.exitCode, d.stderr]).toEqual([o.exitCode, o.stderr]);
      }
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  it.skipIf(!haveDebian)('a dangling supervise symlink gets its target directory (Debian patch)', async () => {
    const root = tmpdir();
    for (const n of ['a', 'b']) {
      mkservice(root, n, 'exec sleep 100', true);
      symlinkSync(`../${n}-state`, `${root}/${n}/supervise`);
    }
    const A = await startSupervise(ours('supervise'), root, 'a');
    const B = await startSupervise(deb.supervise!, root, 'b');
    try {
      await until(() => existsSync(`${root}/a-state/status`) && existsSync(`${root}/b-state/status`));
      expect(shape(readFileSync(`${root}/a-state/status`))).toBe(shape(readFileSync(`${root}/b-state/status`)));
    } finally {
      await stopSupervise(A);
      await stopSupervise(B);
    }
  });

  it('runs ./finish with the exit code and signal after ./run exits (extra)', async () => {
    const root = tmpdir();
    const d = mkservice(root, 's', 'exec sleep 100');
    writeFileSync(`${d}/finish`, '#!/bin/sh\necho "$@" >> finished\n', { mode: 0o755 });
    const S = await startSupervise(ours('supervise'), root, 's');
    try {
      await until(() => pidOf(d) !== 0);
      await execa(ours('svc'), ['-d', d]);
      // the shell creates the file before echo writes into it: wait for the whole line
      await until(() => existsSync(`${d}/finished`) && readFileSync(`${d}/finished`, 'latin1').endsWith('\n'), 4000);
      expect(readFileSync(`${d}/finished`, 'latin1')).toBe('-1 15\n');
    } finally {
      await stopSupervise(S);
    }
  });
});
