/**
 * svc: differential tests against Debian's svc (messages, exit codes, the
 * bytes written into supervise/control).
 */
import { describe, expect, it } from 'vitest';
import { closeSync, constants, mkdirSync, openSync, readSync, writeFileSync, chmodSync } from 'node:fs';
import { execa } from 'execa';
import { sys } from '../src/lib/native.ts';
import { isRoot, ours, theirs, tmpdir } from './helpers.ts';

const debian = theirs('svc');
const debSetuidgid = theirs('setuidgid');
const norm = (s: string): string => s.replace(/^\S*svc: /gm, 'svc: ');

/** A service dir whose control FIFO has a reader held by the test. */
function fakeService(root: string, name: string): { dir: string; read: () => string; close: () => void } {
  const dir = `${root}/${name}`;
  mkdirSync(`${dir}/supervise`, { recursive: true });
  sys.mkfifo(`${dir}/supervise/control`, 0o600);
  const fd = openSync(`${dir}/supervise/control`, constants.O_RDONLY | constants.O_NONBLOCK);
  return {
    dir,
    read: () => {
      const b = Buffer.alloc(64);
      try {
        return b.toString('latin1', 0, readSync(fd, b, 0, 64, null));
      } catch {
        return '';
      }
    },
    close: () => closeSync(fd),
  };
}

describe('svc', () => {
  it.skipIf(!debian)('writes each letter once, in command-line order, like Debian svc', async () => {
    const root = tmpdir();
    const s = fakeService(root, 's');
    try {
      for (const args of [['-uduxa', '-t', '-u'], ['-k', '-p', '-c', '-h', '-i', '-o'], ['--', '-u'], ['-dd']]) {
        const a = await execa(ours('svc'), [...args, s.dir], { reject: false });
        const got = s.read();
        const b = await execa(debian!, [...args, s.dir], { reject: false });
        expect([a.exitCode, got, norm(a.stderr)], args.join(' ')).toEqual([b.exitCode, s.read(), norm(b.stderr)]);
      }
    } finally {
      s.close();
    }
  });

  it.skipIf(!debian)('per-directory warnings and exit codes like Debian svc', async () => {
    const root = tmpdir();
    writeFileSync(`${root}/file`, '');
    mkdirSync(`${root}/nosupervise`);
    mkdirSync(`${root}/notrunning/supervise`, { recursive: true });
    sys.mkfifo(`${root}/notrunning/supervise/control`, 0o600);
    const s = fakeService(root, 'ok');
    try {
      for (const args of [
        [],
        ['-u'],
        ['missing'],
        ['-u', 'missing', 'file', 'nosupervise', 'notrunning', 'ok'],
        ['-z', 'ok'],
        ['-u', '-Z'],
        ['-udz'],
      ]) {
        const a = await execa(ours('svc'), args, { cwd: root, reject: false });
        const b = await execa(debian!, args, { cwd: root, reject: false });
        expect([a.exitCode, a.stdout, norm(a.stderr)], args.join(' ')).toEqual([b.exitCode, b.stdout, norm(b.stderr)]);
      }
    } finally {
      s.close();
    }
  });

  it.skipIf(!debian || !isRoot || !debSetuidgid)('access denied for another user like Debian svc (as nobody)', async () => {
    const root = tmpdir();
    chmodSync(root, 0o755);
    const s = fakeService(root, 's');
    try {
      const a = await execa(debSetuidgid!, ['nobody', ours('svc'), '-u', s.dir], { reject: false });
      const b = await execa(debSetuidgid!, ['nobody', debian!, '-u', s.dir], { reject: false });
      expect(norm(a.stderr)).toBe(`svc: warning: unable to control ${s.dir}: access denied`);
      expect([a.exitCode, norm(a.stderr)]).toEqual([b.exitCode, norm(b.stderr)]);
    } finally {
      s.close();
    }
  });
});
