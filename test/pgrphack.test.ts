import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { ours, theirs } from './helpers.ts';
import { both } from './compare.ts';

const env = { PATH: '/usr/bin:/bin', PWD: '/' };

describe('pgrphack', () => {
  it.skipIf(!theirs('pgrphack'))('matches Debian on usage and unrunnable child', async () => {
    for (const args of [[], ['nonexistent-prog']]) {
      const [a, b] = await both('pgrphack', args, { env, cwd: '/' });
      expect(a).toEqual(b);
    }
  });

  it('runs the child (same pid) as leader of a new session and process group', async () => {
    // setsid fails for a group leader; run pgrphack from a non-leader (a subshell's child)
    const r = await execa('/bin/sh', ['-c', '( exec "$P" sh -c \'echo $$; ps -o pgid=,sid= -p $$\' ) | cat'], { env: { ...env, P: ours('pgrphack') } });
    const [pid, ids] = r.stdout.split('\n');
    expect(ids.trim().split(/\s+/)).toEqual([pid, pid]);
  });
});
