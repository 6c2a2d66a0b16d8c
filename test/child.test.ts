/**
 * child.ts / sys.spawn: programs started with posix_spawn and reaped on
 * SIGCHLD by pid. Real processes writing into real files; the children's
 * signal state is read from /proc/PID/status.
 */
import { describe, expect, it } from 'vitest';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { startChild } from '../src/lib/child.ts';
import { sys } from '../src/lib/native.ts';
import { tmpdir } from './helpers.ts';

/** Start sh -c script with out (a file) on fds 0 and 1; resolves with [status, output]. */
async function run(script: string, envp: string[] = []): Promise<[number, string]> {
  const d = tmpdir();
  const fd = openSync(`${d}/out`, 'w+');
  try {
    const c = await startChild('/bin/sh', ['sh', '-c', script], envp, fd);
    return [await c.exited, readFileSync(`${d}/out`, 'latin1')];
  } finally {
    closeSync(fd);
  }
}

describe('child', () => {
  it('runs argv with exactly envp, the fd on 0 and 1, and gives the raw wait status', async () => {
    const [w, out] = await run('echo "$0 $A $B"; echo x >&0; exit 3', ['A=1', 'B=two']);
    expect(w).toBe(3 << 8);
    expect(out).toBe('sh 1 two\nx\n');
  });

  it('reports a signal death as the signal number', async () => {
    const [w] = await run('kill -9 $$');
    expect(w).toBe(9);
  });

  it('gives the child default signal actions (SIGPIPE too) and an empty mask', async () => {
    // grep reads its own status: the state posix_spawn left at exec
    const d = tmpdir();
    const fd = openSync(`${d}/out`, 'w+');
    try {
      const c = await startChild('/bin/grep', ['grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status'], [], fd);
      expect(await c.exited).toBe(0);
    } finally {
      closeSync(fd);
    }
    const out = readFileSync(`${d}/out`, 'latin1');
    const field = (name: string) => BigInt('0x' + /\s(\w+)$/.exec(out.split('\n').find((l) => l.startsWith(name))!)![1]);
    expect(field('SigBlk')).toBe(0n);
    // glibc's own two signals (32, 33) stay as they are; nothing else is ignored
    expect(field('SigIgn') & ~0x180000000n).toBe(0n);
  });

  it('rejects with the exec error: ENOENT, EACCES, ENOEXEC (no /bin/sh fallback)', async () => {
    const d = tmpdir();
    writeFileSync(`${d}/noexec`, 'echo hi\n', { mode: 0o644 });
    writeFileSync(`${d}/noshebang`, 'echo hi\n', { mode: 0o755 });
    await expect(startChild(`${d}/missing`, ['x'], [], -1)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(startChild(`${d}/noexec`, ['x'], [], -1)).rejects.toMatchObject({ code: 'EACCES' });
    await expect(startChild(`${d}/noshebang`, ['x'], [], -1)).rejects.toMatchObject({ code: 'ENOEXEC' });
    expect(() => sys.spawn(`${d}/missing`, ['x'], [], -1)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('reaps many children ending together, and leaves others alone (sys.spawn + waitpid)', async () => {
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => run(`exit ${i}`)));
    expect(outs.map(([w]) => w >> 8)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // a child that is not ours to reap: SIGCHLD handling must not take it
    const pid = sys.spawn('/bin/sh', ['sh', '-c', 'exit 7'], [], -1);
    await run('exit 0');
    let w: number | undefined;
    for (let i = 0; i < 200 && (w = sys.waitpid(pid)) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(w).toBe(7 << 8);
  });
});
