import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { isRoot, ours, theirs } from './helpers.ts';
import { both } from './compare.ts';
import { getpwnam, parsePasswd } from '../src/lib/passwd.ts';

const debian = theirs('setuidgid');
const env = { PATH: '/usr/bin:/bin', PWD: '/', FOO: 'bar' };

describe('passwd', () => {
  it('parses passwd(5) lines and finds accounts', () => {
    expect(parsePasswd('a:x:1:2:G:/h:/s')).toEqual({ name: 'a', passwd: 'x', uid: 1, gid: 2, gecos: 'G', home: '/h', shell: '/s' });
    expect(parsePasswd('a:x:1:2:G:/h')).toBeUndefined();
    expect(parsePasswd('a:x:-1:2:G:/h:/s')).toBeUndefined();
    expect(getpwnam('root')?.uid).toBe(0);
    expect(getpwnam('no-such-account-here')).toBeUndefined();
    expect(getpwnam('0')).toBeUndefined();
  });
});

describe('setuidgid', () => {
  it.skipIf(!debian)('matches Debian: usage, unknown account, unrunnable child', async () => {
    for (const args of [[], ['nobody'], ['no-such-account-here', 'true'], ['root', 'nonexistent-prog'], ['root', '/etc']]) {
      const [a, b] = await both('setuidgid', args, { env, cwd: '/' });
      expect(a).toEqual(b);
    }
  });

  it.skipIf(!debian || !isRoot)('switches to nobody like Debian (ids, groups, environment, same pid)', async () => {
    const [a, b] = await both('setuidgid', ['nobody', 'sh', '-c', 'id; grep -E "^(Uid|Gid|Groups)" /proc/self/status; env | sort'], { env, cwd: '/' });
    expect(a).toEqual(b);
    expect(a.stdout).toContain('uid=65534');
    const r = await execa('/bin/sh', ['-c', 'echo $$; exec "$P" nobody sh -c \'echo $$; id -u\''], { env: { ...env, P: ours('setuidgid') } });
    const [p1, p2, uid] = r.stdout.split('\n');
    expect([p2, uid]).toEqual([p1, String(getpwnam('nobody')!.uid)]);
  });

  it.skipIf(!debian || !isRoot)('reports a failing setuid like Debian when not root', async () => {
    const [a, b] = await both('setuidgid', ['root', 'true'], { env, cwd: '/', wrap: 'exec setpriv --reuid=65534 --regid=65534 --clear-groups "$P" "$@"' });
    expect(a).toEqual(b);
    expect(a.stderr).toMatch(/^setuidgid: fatal: unable to set(gid|uid): /);
  });
});

describe('envuidgid', () => {
  it.skipIf(!theirs('envuidgid'))('matches Debian: usage, unknown account, environment set, ids unchanged', async () => {
    for (const args of [[], ['nobody'], ['no-such-account-here', 'true'], ['nobody', 'nonexistent-prog'], ['nobody', 'sh', '-c', 'id -u; env | sort']]) {
      const [a, b] = await both('envuidgid', args, { env: { ...env, UID: 'old' }, cwd: '/' });
      expect(a).toEqual(b);
    }
  });
});
