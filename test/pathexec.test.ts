import { describe, expect, it } from 'vitest';
import { applyEnv, candidates, pathexecRun, verdict } from '../src/lib/pathexec.ts';
import { execa } from 'execa';
import { ours, theirs } from './helpers.ts';

function err(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

describe('pathexec', () => {
  it('applies environment edits in DJB order (last entry moves into the removed slot)', () => {
    const env = ['A=1', 'B=2', 'C=3'];
    expect(applyEnv(env, [{ name: 'A', value: 'x' }])).toEqual(['C=3', 'B=2', 'A=x']);
    expect(applyEnv(env, [{ name: 'B' }])).toEqual(['A=1', 'C=3']);
    expect(applyEnv(env, [{ name: 'D', value: '' }, { name: 'D', value: 'y' }])).toEqual(['A=1', 'B=2', 'C=3', 'D=y']);
    expect(applyEnv({ A: '1', B: undefined }, [{ name: 'Z' }])).toEqual(['A=1']);
  });

  it('searches PATH as pathexec_run: empty element is ., default /bin:/usr/bin', () => {
    expect(candidates('a/b', 'x')).toEqual(['a/b']);
    expect(candidates('p', undefined)).toEqual(['/bin/p', '/usr/bin/p']);
    expect(candidates('p', ':/x:')).toEqual(['./p', '/x/p', './p']);
    expect(candidates('p', '')).toEqual(['./p']);
    expect([verdict(err('ENOENT')), verdict(err('EACCES')), verdict(err('EPERM')), verdict(err('EISDIR')), verdict(err('ENOEXEC'))]).toEqual([
      'next',
      'remember',
      'remember',
      'remember',
      'stop',
    ]);
  });

  it('reports the remembered error, else the last; stops at other errors', () => {
    const tried: string[] = [];
    const fake = (answers: Record<string, string>) => (p: string) => {
      tried.push(p);
      throw err(answers[p] ?? 'ENOENT');
    };
    expect(() => pathexecRun('p', ['p'], [], '/a:/b:/c', fake({ '/a/p': 'EACCES' }))).toThrow('EACCES');
    expect(tried).toEqual(['/a/p', '/b/p', '/c/p']);
    tried.length = 0;
    expect(() => pathexecRun('p', ['p'], [], '/a:/b:/c', fake({ '/b/p': 'ENOEXEC' }))).toThrow('ENOEXEC');
    expect(tried).toEqual(['/a/p', '/b/p']);
    expect(() => pathexecRun('p', ['p'], [], '/a', fake({}))).toThrow('ENOENT');
  });

  it.skipIf(!theirs('pgrphack'))('really execs (same pid) and keeps inherited descriptors and default SIGPIPE', async () => {
    const script = 'echo $$; exec 7</dev/null; exec "$P" sh -c \'echo $$; test -e /proc/$$/fd/7 && echo fd7; grep SigIgn /proc/$$/status\'';
    const r = await execa('/bin/sh', ['-c', script], { env: { P: ours('pgrphack') } });
    const [pid1, pid2, fd, sig] = r.stdout.split('\n');
    expect(pid2).toBe(pid1);
    expect(fd).toBe('fd7');
    expect(sig).toMatch(/^SigIgn:\s+0+$/);
  });
});
