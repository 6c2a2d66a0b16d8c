import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { writeFileSync, statSync } from 'node:fs';
import { ours, theirs, tmpdir, until } from './helpers.ts';
import { both } from './compare.ts';

const debian = theirs('setlock');
const env = { PATH: '/usr/bin:/bin', PWD: '/' };

describe('setlock', () => {
  it.skipIf(!debian || !theirs('flock'))('matches Debian with a lock held by flock(1): -n, -nx, -nX, -x', async () => {
    const d = tmpdir();
    const lock = `${d}/lock`;
    writeFileSync(`${d}/ready`, '');
    const holder = execa('flock', [lock, 'sh', '-c', `rm ${d}/ready; exec sleep 30`], { reject: false, detached: true, stdio: 'ignore' });
    await until(() => {
      try {
        statSync(`${d}/ready`);
        return false;
      } catch {
        return true;
      }
    });
    try {
      for (const args of [['-n', lock, 'echo', 'got'], ['-nx', lock, 'echo', 'got'], ['-nxX', lock, 'echo', 'got'], ['-xn', lock, 'echo', 'got']]) {
        const [a, b] = await both('setlock', args, { env, cwd: d });
        expect(a, args.join(' ')).toEqual(b);
      }
    } finally {
      process.kill(-holder.pid!, 'SIGTERM');
      await holder;
    }
    const [a, b] = await both('setlock', ['-n', lock, 'echo', 'got'], { env, cwd: d });
    expect(a).toEqual(b);
    expect(a.stdout).toBe('got\n');
  });

  it.skipIf(!debian)('matches Debian on usage, open failures (with/without -x), unrunnable child', async () => {
    const d = tmpdir();
    for (const args of [[], ['f'], ['-q', 'f', 'true'], ['/nonexistent/f', 'true'], ['-x', '/nonexistent/f', 'true'], ['f', 'nonexistent-prog']]) {
      const [a, b] = await both('setlock', args, { env, cwd: d });
      expect(a, args.join(' ')).toEqual(b);
    }
    expect(statSync(`${d}/f`).mode & 0o777).toBe(0o600 & ~process.umask());
  });

  it('hands the locked descriptor to the program (same pid; flock -n fails meanwhile)', async () => {
    const d = tmpdir();
    const r = await execa('/bin/sh', ['-c', `echo $$; exec "$P" ${d}/lock sh -c 'echo $$; flock -n ${d}/lock true || echo held; ls -l /proc/$$/fd | grep -c ${d}/lock'`], {
      env: { ...env, P: ours('setlock') },
    });
    const [p1, p2, held, n] = r.stdout.split('\n');
    expect([p2, held, n]).toEqual([p1, 'held', '1']);
  });
});
