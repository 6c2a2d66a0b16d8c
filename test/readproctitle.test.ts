/**
 * readproctitle: the man page's example, exit codes, and the title Debian's
 * readproctitle shows for the same input (NULs between arguments compared
 * as spaces, as ps shows them).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { ProcTitle } from '../src/lib/proctitle.ts';
import { ours, theirs, until } from './helpers.ts';

const debian = theirs('readproctitle');

/** Run bin with args, feed input, read /proc/PID/cmdline, then end input. */
async function title(bin: string, args: string[], input: string): Promise<string> {
  const p = spawn(bin, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  p.stdin!.write(input);
  const read = (): string => readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').replace(/\0+$/, '').replace(/\0/g, ' ');
  const last = input.replace(/\0/g, '').slice(-3);
  await until(() => read().endsWith(last), 5000);
  const t = read();
  p.stdin!.end();
  await new Promise((r) => p.once('exit', r));
  return t;
}

describe('readproctitle', () => {
  it('keeps three dots and scrolls the rest (man page example)', () => {
    const t = new ProcTitle(Buffer.from('....................'));
    t.push(Buffer.from('fatal error xyz\nwarning abc\n'));
    expect(t.text()).toBe('... xyz\nwarning abc\n');
  });

  it.skipIf(!debian)('exit codes like Debian', async () => {
    for (const args of [[], ['a', '....'], ['.....'], ['a', 'b', '.......']]) {
      const a = await execa(ours('readproctitle'), args, { input: 'x\n', reject: false });
      const b = await execa(debian!, args, { input: 'x\n', reject: false });
      expect([a.exitCode, a.stdout, a.stderr], args.join(' ')).toEqual([b.exitCode, b.stdout, b.stderr]);
    }
  });

  it.skipIf(!debian)('shows the same title as Debian for the same input', async () => {
    const args = ['service', 'errors:', '.'.repeat(40)];
    const input = 'svscan: warning: unable to start supervise x\0: file does not exist\nshort\n';
    const a = await title(ours('readproctitle'), args, input);
    const b = await title(debian!, args, input);
    expect(a.replace(/^\S*readproctitle/, 'readproctitle')).toBe(b.replace(/^\S*readproctitle/, 'readproctitle'));
  });
});
