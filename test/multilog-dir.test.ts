/**
 * multilog log directories over time: processors and their state, recovery
 * after a crash or a clean exit, SIGALRM/SIGTERM, the lock, a full disk, and
 * running under Debian's supervise; differential against Debian's multilog
 * where the outcome is deterministic.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { isRoot, ours, theirs, tmpdir, until } from './helpers.ts';
import { both, debian, describe as describeDir } from './multilog-helpers.ts';

const OURS = ours('multilog');
const lines = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, i) => `line ${from + i} `.padEnd(60, '.') + '\n').join('');
const progs = (): Array<[string, string]> => [['ours', OURS], ...(debian ? [['debian', debian] as [string, string]] : [])];

/** Start multilog with stdin a pipe we feed. */
function start(prog: string, cwd: string, script: string[]): ResultPromise {
  return execa(prog, script, { cwd, stdin: 'pipe', reject: false });
}

function currentOf(dir: string): string {
  return existsSync(`${dir}/current`) ? readFileSync(`${dir}/current`, 'latin1') : '';
}

describe.skipIf(!debian)('multilog processors (differential)', () => {
  it('!cat and a processor that counts runs in its state (fds 4 and 5)', async () => {
    const counting = '!n=$(cat <&4); n=$((${n:-0}+1)); echo $n >&5; echo "run $n"; cat';
    for (const script of [['s4096', '!cat', './d'], ['s4096', 'n4', counting, './d']]) {
      const [a, c] = await both(tmpdir(), script, lines(300));
      expect(a).toEqual(c);
    }
  });

  it.concurrent('a failing processor: warning, 5-s pause, run again, nothing lost', async ({ expect }) => {
    const flaky = '!if test -e ../failed; then cat; else touch ../failed; exit 1; fi';
    const [a, c] = await both(tmpdir(), ['s4096', flaky, './d'], lines(80));
    expect(a).toEqual(c);
    expect(a.stderr).toBe('multilog: warning: processor failed in ./d, pausing\n');
  });

  it.concurrent('a processor killed by a signal: "crashed" warning, pause, run again', async ({ expect }) => {
    const crashy = '!if test -e ../crashed; then cat; else touch ../crashed; kill -9 $$; fi';
    const [a, c] = await both(tmpdir(), ['s4096', crashy, './d'], lines(80));
    expect(a).toEqual(c);
    expect(a.stderr).toMatch(
      /^multilog: warning: processor crashed in \.\/d, pausing: .+\nmultilog: warning: processor failed in \.\/d, pausing\n$/,
    );
  });
});

describe.skipIf(!debian)('multilog start-up recovery (differential)', () => {
  const layouts: Record<string, Array<[string, string, number]>> = {
    'crash: current and previous become .u, state is recreated': [
      ['current', 'cur\n', 0o644],
      ['previous', 'prev\n', 0o744],
      ['state', 'old state\n', 0o644],
      ['newstate', 'half\n', 0o644],
      ['processed', 'partial\n', 0o644],
    ],
    'crash after the processor: processed (x bit) saved as .s, previous removed': [
      ['current', 'cur\n', 0o644],
      ['previous', 'prev\n', 0o744],
      ['processed', 'done\n', 0o744],
    ],
    'clean exit: current (0744) reused and appended to, state kept': [
      ['current', 'old line\n', 0o744],
      ['state', 'kept\n', 0o644],
      ['@400000006b0000000000000000.s', 'older\n', 0o744],
    ],
  };
  for (const [name, files] of Object.entries(layouts)) {
    it(name, async () => {
      const base = tmpdir();
      for (const w of ['ours', 'theirs']) {
        mkdirSync(`${base}/${w}/d`, { recursive: true });
        for (const [f, body, mode] of files) {
          writeFileSync(`${base}/${w}/d/${f}`, body);
          chmodSync(`${base}/${w}/d/${f}`, mode);
        }
      }
      const [a, c] = await both(base, ['n3', './d'], 'new\n');
      expect(a).toEqual(c);
    });
  }

  it('after kill -9 of ours, Debian recovers our directory (and the reverse)', async () => {
    for (const [first, second] of [
      [OURS, debian!],
      [debian!, OURS],
    ]) {
      const d = tmpdir();
      const p = start(first, d, ['t', './log']);
      p.stdin!.write('before crash\n');
      await until(() => currentOf(`${d}/log`).includes('before crash'));
      p.kill('SIGKILL');
      await p;
      await execa(second, ['t', './log'], { cwd: d, input: 'after\n' });
      const files = describeDir(`${d}/log`);
      expect(files.map((f) => f[0])).toEqual(['@.u', 'current', 'lock', 'state']);
      expect(files[0][2]).toBe('@T before crash\n');
      expect(files[1]).toEqual(['current', '744', '@T after\n']);
    }
  });
});

describe('multilog signals and the lock', () => {
  it('SIGALRM rotates a non-empty current at once while waiting for input', async () => {
    for (const [, prog] of progs()) {
      const d = tmpdir();
      const p = start(prog, d, ['./log']);
      p.stdin!.write('one\n');
      await until(() => currentOf(`${d}/log`) === 'one\n');
      p.kill('SIGALRM');
      await until(() => readdirSync(`${d}/log`).some((f) => f.endsWith('.s')));
      p.stdin!.end('two\n');
      expect((await p).exitCode).toBe(0);
      expect(describeDir(`${d}/log`)).toEqual([
        ['@.s', '744', 'one\n'],
        ['current', '744', 'two\n'],
        ['lock', '600', ''],
        ['state', '644', ''],
      ]);
    }
  });

  it('SIGTERM in mid-line: finishes that line, then exits 0 leaving the rest unread', async () => {
    for (const [, prog] of progs()) {
      const d = tmpdir();
      const p = start(prog, d, ['./log']);
      p.stdin!.write('abc\npart');
      await until(() => currentOf(`${d}/log`) === 'abc\n');
      await new Promise((r) => setTimeout(r, 200));
      p.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      p.stdin!.write('ial\nrest\n');
      const r = await p;
      expect(r.exitCode).toBe(0);
      expect(currentOf(`${d}/log`)).toBe('abc\npartial\n');
      expect(statSync(`${d}/log/current`).mode & 0o777).toBe(0o744);
    }
  });

  it('SIGTERM after a complete line exits at once', async () => {
    const d = tmpdir();
    const p = start(OURS, d, ['./log']);
    p.stdin!.write('whole\n');
    await until(() => currentOf(`${d}/log`) === 'whole\n');
    p.kill('SIGTERM');
    expect((await p).exitCode).toBe(0);
    expect(statSync(`${d}/log/current`).mode & 0o777).toBe(0o744);
  });

  it.skipIf(!debian)('a directory locked by another multilog is fatal, same message both ways', async () => {
    for (const [holder, other] of [
      [debian!, OURS],
      [OURS, debian!],
    ]) {
      const d = tmpdir();
      const p = start(holder, d, ['./log']);
      await until(() => existsSync(`${d}/log/current`));
      const r = await execa(other, ['./log'], { cwd: d, input: 'x\n', reject: false });
      expect([r.exitCode, r.stderr.replace(/^\S*multilog/, 'multilog')]).toEqual([
        111,
        'multilog: fatal: unable to lock directory ./log: temporary failure',
      ]);
      p.stdin!.end();
      await p;
    }
  });
});

describe('multilog on a full disk', () => {
  it.skipIf(!isRoot)('pauses with the warning every 5 s and loses nothing once space returns', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/mnt`);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', `${d}/mnt`]);
    try {
      const input = lines(2500); // 150 kB
      const p = start(OURS, `${d}/mnt`, ['s4096', 'n1000', './log']);
      let err = '';
      p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      p.stdin!.write(input);
      await until(() => err.includes('pausing: out of disk space'), 15000);
      expect(err.split('\n')[0]).toBe('multilog: warning: unable to write to ./log/current, pausing: out of disk space');
      await execa('mount', ['-o', 'remount,size=4m', `${d}/mnt`]);
      p.stdin!.end();
      expect((await p).exitCode).toBe(0);
      const files = readdirSync(`${d}/mnt/log`).filter((f) => f[0] === '@').sort();
      const all = [...files, 'current'].map((f) => readFileSync(`${d}/mnt/log/${f}`, 'latin1')).join('');
      expect(all).toBe(input);
    } finally {
      await execa('umount', ['-l', `${d}/mnt`], { reject: false });
    }
  });
});

describe('multilog with the other daemontools', () => {
  const tai64nlocal = theirs('tai64nlocal');
  it.skipIf(!tai64nlocal)("Debian's tai64nlocal reads our labels", async () => {
    const d = tmpdir();
    await execa(OURS, ['t', './log'], { cwd: d, input: 'hello\nworld\n' });
    const r = await execa(tai64nlocal!, { inputFile: `${d}/log/current` });
    expect(r.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}500 hello\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}500 world$/);
  });

  const supervise = theirs('supervise');
  const svc = theirs('svc');
  it.skipIf(!supervise || !svc)("runs as a log service under Debian's supervise: svc -d ends it cleanly, svc -u resumes", async () => {
    const d = tmpdir();
    const svdir = `${d}/log`;
    mkdirSync(svdir);
    writeFileSync(`${svdir}/run`, `#!/bin/sh\nexec ${OURS} t ./main\n`);
    chmodSync(`${svdir}/run`, 0o755);
    const sup = execa(supervise!, [svdir], { stdin: 'pipe', reject: false });
    try {
      sup.stdin!.write('first\n');
      await until(() => currentOf(`${svdir}/main`).endsWith(' first\n'), 10000);
      await execa(svc!, ['-d', svdir]);
      await until(() => (statSync(`${svdir}/main/current`).mode & 0o100) !== 0, 10000);
      await execa(svc!, ['-u', svdir]);
      sup.stdin!.write('second\n');
      await until(() => currentOf(`${svdir}/main`).endsWith(' second\n'), 10000);
      expect(currentOf(`${svdir}/main`).replace(/^@[0-9a-f]{24}/gm, '@T')).toBe('@T first\n@T second\n');
    } finally {
      await execa(svc!, ['-dx', svdir], { reject: false });
      sup.stdin!.end();
      await sup;
    }
  });
});
