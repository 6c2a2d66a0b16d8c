/**
 * svscan, svscanboot, readproctitle: real process trees in temporary service
 * directories; every tree is taken down with svc -dx at the end. Debian's
 * svscan is run with our supervise and ours with Debian's to show the pair
 * is interchangeable.
 */
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { ours, theirs, tmpdir, until } from './helpers.ts';
import { killSame, mkservice, pidOf, procId, sleep } from './sv-helpers.ts';

const OURBIN = dirname(ours('svscan'));
const debSvscan = theirs('svscan');
const debSupervise = theirs('supervise');

/** true when supervise runs in dir (our svok). */
async function svok(dir: string): Promise<boolean> {
  return (await execa(ours('svok'), [dir], { reject: false })).exitCode === 0;
}

/** pids whose parent is ppid. */
function children(ppid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'latin1');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

interface Tree {
  scan: ChildProcess;
  root: string;
  err: () => string;
}

function startSvscan(bin: string, root: string, path: string): Tree {
  const scan = spawn(bin, [root], { env: { ...process.env, PATH: path }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  scan.stderr!.on('data', (d: Buffer) => (err += d.toString('latin1')));
  return { scan, root, err: () => err };
}

/** Kill svscan, then svc -dx every supervise under root and wait until none runs. */
async function teardown(t: Tree, dirs: string[]): Promise<void> {
  t.scan.kill('SIGKILL');
  const runs = dirs.map((d) => procId(pidOf(d)));
  await execa(ours('svc'), ['-dx', ...dirs], { reject: false });
  await until(async () => (await Promise.all(dirs.map(svok))).every((x) => !x), 8000).catch(() => undefined);
  for (const p of runs) killSame(p);
}

/** A service `a` with a log that appends to root/out, plus a plain service `b`. */
function services(root: string): string[] {
  mkservice(root, 'a', 'echo "line $$"; exec sleep 100');
  mkservice(root, 'a/log', `exec cat >> ${root}/../out`);
  mkservice(root, 'b', 'exec sleep 100');
  return [`${root}/a`, `${root}/a/log`, `${root}/b`];
}

const lines = (root: string): string[] => {
  try {
    return readFileSync(`${root}/../out`, 'latin1').trim().split('\n');
  } catch {
    return [];
  }
};

const combos: Array<[string, string | undefined, string]> = [
  ['our svscan, our supervise', ours('svscan'), `${OURBIN}:${process.env.PATH}`],
  ['our svscan, Debian supervise', ours('svscan'), `/usr/bin:/bin`],
  ['Debian svscan, our supervise', debSvscan, `${OURBIN}:${process.env.PATH}`],
];

describe.concurrent('svscan', () => {
  for (const [name, bin, path] of combos) {
    it.skipIf(!bin || !debSupervise)(`${name}: log lines survive restarts of the service and of its log`, async () => {
      const root = `${tmpdir()}/service`;
      mkdirSync(root);
      const dirs = services(root);
      const t = startSvscan(bin!, root, path);
      try {
        await until(async () => (await Promise.all(dirs.map(svok))).every(Boolean) && lines(root).length === 1, 10000);
        const sup = children(t.scan.pid!);
        expect(sup).toHaveLength(3);
        const ourSupervise = path.startsWith(OURBIN);
        for (const p of sup) expect(cmdline(p).includes('daemontools/supervise')).toBe(ourSupervise);
        await sleep(1000); // past supervise's sleep after a start
        await execa(ours('svc'), ['-k', `${root}/a/log`]);
        await sleep(50);
        await execa(ours('svc'), ['-k', `${root}/a`]);
        await until(() => lines(root).length === 2, 6000);
        await execa(ours('svc'), ['-k', `${root}/a`]);
        await until(() => lines(root).length === 3, 6000);
        const l = lines(root);
        expect(new Set(l).size).toBe(3);
        for (const x of l) expect(x).toMatch(/^line \d+$/);
      } finally {
        await teardown(t, dirs);
      }
    });
  }

  it('supervise outlives a killed svscan; dot names, files and second names of a directory are skipped', async () => {
    const root = `${tmpdir()}/service`;
    mkdirSync(root);
    const dirs = services(root);
    mkservice(root, '.hidden', 'exec sleep 100');
    writeFileSync(`${root}/file`, '');
    symlinkSync('b', `${root}/b2`);
    const t = startSvscan(ours('svscan'), root, `${OURBIN}:${process.env.PATH}`);
    try {
      await until(async () => (await Promise.all(dirs.map(svok))).every(Boolean), 10000);
      await sleep(300);
      expect(children(t.scan.pid!)).toHaveLength(3);
      expect(existsSync(`${root}/.hidden/supervise`)).toBe(false);
      t.scan.kill('SIGTERM');
      await new Promise((r) => t.scan.once('exit', r));
      await sleep(200);
      expect(await Promise.all(dirs.map(svok))).toEqual([true, true, true]);
      await sleep(800);
      await execa(ours('svc'), ['-k', `${root}/a`]);
      await until(() => lines(root).length === 2, 6000);
      expect(t.err()).toBe('');
    } finally {
      await teardown(t, dirs);
    }
  });

  it('rescans at once on SIGALRM (extra) and warns when supervise cannot be found, like Debian', async () => {
    const root = `${tmpdir()}/service`;
    mkdirSync(root);
    const dirs = [mkservice(root, 'first', 'exec sleep 100')];
    const t = startSvscan(ours('svscan'), root, `${OURBIN}:${process.env.PATH}`);
    try {
      await until(() => svok(dirs[0]), 10000); // svscan is up (and has its SIGALRM handler)
      const t0 = Date.now();
      dirs.push(mkservice(root, 'late', 'exec sleep 100'));
      t.scan.kill('SIGALRM');
      await until(() => svok(dirs[1]), 4000);
      expect(Date.now() - t0).toBeLessThan(4000); // sooner than the next 5-second scan
    } finally {
      await teardown(t, dirs);
    }
    if (!debSvscan) return;
    const r2 = `${tmpdir()}/service`;
    mkdirSync(r2);
    mkservice(r2, 'x', 'exec sleep 100');
    const a = startSvscan(ours('svscan'), r2, '/nonexistent');
    const b = startSvscan(debSvscan, r2, '/nonexistent');
    await sleep(1500);
    a.scan.kill();
    b.scan.kill();
    expect(a.err()).toBe('svscan: warning: unable to start supervise x: file does not exist\n');
    expect(b.err()).toBe(a.err());
  });

  it.skipIf(!debSvscan)('a directory it cannot enter: same message and exit code as Debian', async () => {
    const a = await execa(ours('svscan'), ['/nonexistent/x'], { reject: false });
    const b = await execa(debSvscan!, ['/nonexistent/x'], { reject: false });
    expect([a.exitCode, a.stderr]).toEqual([b.exitCode, b.stderr]);
  });

  it('svscanboot: stops old supervise, runs svscan with its errors shown by readproctitle', async () => {
    const root = `${tmpdir()}/service`;
    mkdirSync(root);
    const dirs = services(root);
    mkservice(root, 'noisy', 'echo oops >&2; exit 1');
    dirs.push(`${root}/noisy`);
    // a supervise left from an earlier boot is told to stop and exit
    mkservice(root, 'old', 'exec sleep 100', true);
    const old = spawn(ours('supervise'), ['old'], { cwd: root, stdio: 'ignore' });
    await until(() => svok(`${root}/old`));
    const oldGone = new Promise((r) => old.once('exit', r));
    dirs.push(`${root}/old`);
    const boot = spawn(ours('svscanboot'), [root], { stdio: 'ignore' });
    await oldGone;
    let scan = 0;
    try {
      await until(async () => (await Promise.all(dirs.map(svok))).every(Boolean), 10000);
      await until(() => cmdline(boot.pid!).includes('oops'), 4000);
      expect(cmdline(boot.pid!)).toMatch(/^readproctitle service errors: \.\.\.\.*oops\n/);
      expect(cmdline(boot.pid!).replace(/ +$/, '').length).toBe('readproctitle service errors: '.length + 400);
      scan = children(boot.pid!)[0];
      expect(cmdline(scan)).toContain('daemontools/svscan');
      // only PATH (+ the PWD that /bin/sh in our launchers exports)
      const env = readFileSync(`/proc/${scan}/environ`, 'latin1').split('\0').filter((v) => v && !v.startsWith('PWD='));
      expect(env).toEqual([`PATH=${OURBIN}:/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/X11R6/bin`]);
    } finally {
      killSame(procId(scan));
      boot.kill('SIGKILL');
      await teardown({ scan: boot, root, err: () => '' }, dirs);
    }
  });
});
