/**
 * svstat: our svstat and Debian's print the same line for the same
 * supervise/ directory, status bytes crafted by hand.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { sys } from '../src/lib/native.ts';
import { encode, decode } from '../src/lib/svstatus.ts';
import { now, TAI_EPOCH } from '../src/lib/tai64.ts';
import { isRoot, ours, theirs, tmpdir } from './helpers.ts';

const debian = theirs('svstat');
const debSetuidgid = theirs('setuidgid');

/** Run both svstats on args; retry across a second boundary. */
async function same(args: string[], cwd: string, prefix: string[] = []): Promise<string> {
  for (let i = 0; ; i++) {
    const [c, ...r] = [...prefix, ours('svstat'), ...args];
    const [d, ...rd] = [...prefix, debian!, ...args];
    const a = await execa(c, r, { cwd, reject: false });
    const b = await execa(d, rd, { cwd, reject: false });
    if (a.stdout === b.stdout || i === 2) {
      expect([a.exitCode, a.stdout, a.stderr]).toEqual([b.exitCode, b.stdout, b.stderr]);
      return a.stdout;
    }
  }
}

describe('svstat', () => {
  it('status codec round-trips the 18 bytes', () => {
    const when = now();
    const b = encode({ when, pid: 0x01020304, paused: true, want: 'd' });
    expect(b.length).toBe(18);
    expect(b.subarray(12, 18)).toEqual(Buffer.from([4, 3, 2, 1, 1, 0x64]));
    expect(decode(b)).toEqual({ when, pid: 0x01020304, paused: true, want: 'd' });
    expect(decode(b.subarray(0, 17))).toBeUndefined();
  });

  it.skipIf(!debian)('prints what Debian svstat prints for every status shape', async () => {
    const root = tmpdir();
    const held: number[] = [];
    const t = Math.floor(Date.now() / 1000);
    const mk = (name: string, status: Buffer | undefined, opts: { down?: boolean; ok?: 'reader' | 'fifo' | 'none' | 'file' } = {}): string => {
      const d = `${root}/${name}`;
      mkdirSync(`${d}/supervise`, { recursive: true });
      const ok = opts.ok ?? 'reader';
      if (ok === 'file') writeFileSync(`${d}/supervise/ok`, '');
      else if (ok !== 'none') {
        sys.mkfifo(`${d}/supervise/ok`, 0o600);
        if (ok === 'reader') held.push(openSync(`${d}/supervise/ok`, constants.O_RDONLY | constants.O_NONBLOCK));
      }
      if (status) writeFileSync(`${d}/supervise/status`, status);
      if (opts.down) writeFileSync(`${d}/down`, '');
      return name;
    };
    const st = (ago: number, pid: number, paused: number, want: number, extra = 0): Buffer => {
      const b = encode({ when: { sec: TAI_EPOCH + BigInt(t - ago), nano: 500 }, pid, paused: false, want: '' });
      b[16] = paused;
      b[17] = want;
      return Buffer.concat([b, Buffer.alloc(extra, 7)]);
    };
    const u = 0x75;
    const dd = 0x64;
    const names = [
      mk('up', st(100, 4242, 0, u)),
      mk('up-down', st(5, 4242, 0, u), { down: true }),
      mk('up-paused', st(5, 4242, 1, u)),
      mk('up-paused2', st(5, 4242, 2, dd)),
      mk('up-wantdown', st(5, 4242, 0, dd)),
      mk('up-all', st(5, 4294967295, 1, dd), { down: true }),
      mk('up-once', st(5, 1, 0, 0)),
      mk('down', st(3600, 0, 0, dd)),
      mk('down-wantup', st(7, 0, 1, u)),
      mk('down-normally', st(7, 0, 0, dd), { down: true }),
      mk('down-odd', st(7, 0, 0, 0x78)),
      mk('future', st(-1000, 0, 0, u)),
      mk('extra', st(9, 12, 0, u, 5)),
      mk('short', st(9, 12, 0, u).subarray(0, 17)),
      mk('empty', Buffer.alloc(0)),
      mk('nostatus', undefined),
      mk('notrunning', st(9, 12, 0, u), { ok: 'fifo' }),
      mk('nook', st(9, 12, 0, u), { ok: 'none' }),
      mk('okfile', st(9, 12, 0, u), { ok: 'file' }),
    ];
    writeFileSync(`${root}/plainfile`, '');
    mkdirSync(`${root}/dangling-down/supervise`, { recursive: true });
    symlinkSync('nowhere', `${root}/dangling-down/down`);
    try {
      const out = await same([...names, 'missing', 'plainfile', 'dangling-down'], root);
      expect(out.split('\n')).toHaveLength(names.length + 3);
      // seconds depend on how long the machine took to get here: the exact
      // bytes are compared with Debian's svstat above
      expect(out).toMatch(/^up-all: up \(pid 4294967295\) \d+ seconds, normally down, paused, want down$/m);
      expect(await same([], root)).toBe('');
    } finally {
      for (const fd of held) closeSync(fd);
    }
  });

  it.skipIf(!debian || !isRoot || !debSetuidgid)('unable to stat down / chdir: access denied, as nobody, like Debian', async () => {
    const root = tmpdir();
    chmodSync(root, 0o755);
    mkdirSync(`${root}/s/supervise`, { recursive: true });
    mkdirSync(`${root}/closed`, { mode: 0o700 });
    symlinkSync(`${root}/closed/x`, `${root}/s/down`);
    mkdirSync(`${root}/locked`, { mode: 0o700 });
    const out = await same(['s', 'locked'], root, [debSetuidgid!, 'nobody']);
    expect(out).toBe('s: unable to stat down: access denied\nlocked: unable to chdir: access denied');
  });
});
