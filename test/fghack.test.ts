import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { theirs, tmpdir } from './helpers.ts';
import { both } from './compare.ts';

const debian = theirs('fghack');
const env = { PATH: '/usr/bin:/bin', PWD: '/' };

describe('fghack', () => {
  it.skipIf(!debian)('matches Debian: usage, unrunnable child, exit code, crash', async () => {
    for (const args of [[], ['nonexistent-prog'], ['sh', '-c', 'exit 7'], ['sh', '-c', 'kill -9 $$']]) {
      const [a, b] = await both('fghack', args, { env, cwd: '/' });
      expect(a).toEqual(b);
    }
  });

  it.skipIf(!debian)('gives the child the same descriptors and waits for a backgrounded grandchild', async () => {
    const d = tmpdir();
    const script = `ls -l /proc/$$/fd; (sleep 0.3; echo late >> ${d}/out) & exit 3`;
    /** "fd target" per line, pipe inode numbers dropped, sorted by fd */
    const fds = (out: string) =>
      out
        .split('\n')
        .map((l) => l.split(/\s+/))
        .filter((f) => f.length >= 11)
        .map((f) => [Number(f[8]), f[10].replace(/\[.*/, '')] as const)
        .sort((x, y) => x[0] - y[0])
        .map((x) => x.join(' '));
    const [a, b] = await both('fghack', ['sh', '-c', script], { env, cwd: '/', wrap: 'exec 7</dev/null; exec "$P" "$@"' });
    expect([a.exitCode, a.stderr, fds(a.stdout)]).toEqual([b.exitCode, b.stderr, fds(b.stdout)]);
    expect(a.exitCode).toBe(3);
    expect(fds(a.stdout)).toContain('7 /dev/null');
    expect(fds(a.stdout).filter((l) => l.endsWith('pipe:')).length).toBeGreaterThanOrEqual(31);
    expect(readFileSync(`${d}/out`, 'utf8')).toBe('late\nlate\n');
  });
});
