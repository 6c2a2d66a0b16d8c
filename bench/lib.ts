/**
 * bench/lib: helpers the benchmark scripts share.
 *
 *   median(xs)               the middle value (upper middle for an even count);
 *                            xs is not changed
 *   smaps(pid)               { rss, pss, uss } in kB from /proc/PID/smaps_rollup
 *                            (uss = private clean + dirty: what no sharing lowers);
 *                            throws when the process is gone
 *   maildirHome(h)           mkdir h (0755) with Maildir/{tmp,new,cur} (0700)
 *   queueHome(work)          work/qh: a qmail home with a queue (split 23),
 *                            empty users/ and control/me `here.example`;
 *                            returns its path
 *   giveAndBecome(dir, uid, gid)
 *                            chown dir and everything below it to uid:gid, then
 *                            switch this process to gid and uid (root only: qmail
 *                            never delivers as root, so benches run as nobody)
 *   smtpListener(bin, env)   start tcpserver `bin` (ours or Debian's) as the
 *                            SMTP benches run it (-1 -H -R -l mx.bench -c 100
 *                            -b 128, 127.0.0.1, a free port) with our
 *                            qmail-smtpd; resolves [child, port]; rejects when
 *                            it exits first
 *   stopChild(c)             SIGTERM c; resolves when it has exited
 *   TRASH                    $TMPDIR/bench-trash (fixed when this module is
 *                            loaded; BENCH_TRASH overrides, and child
 *                            processes inherit it): where finished runs'
 *                            scratch directories wait
 *   scratchDir(prefix)       a new directory $TMPDIR/PREFIXXXXXXX (0755) marked
 *                            `chattr +T`, so that trees made in it get block
 *                            groups of their own (Orlov), not the ones a
 *                            recent removal has just emptied
 *   toTrash(dir)             move dir into TRASH (one rename: nothing is freed)
 *
 * Why a trash: on ext4 without a journal (this project's VMs) every create
 * skips, one by one, the inodes freed in its block group in the last one to
 * six minutes, and the allocator places new top-level directories (such as
 * a new queue's pid/ and intd/) exactly in the groups a removal has just
 * emptied; a run that follows another one's removal measures that removal.
 * Scratch trees therefore outlive their run: the benches never remove
 * TRASH (a removal would slow the next run, whenever it came); remove it by
 * hand when done benchmarking.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { markTopDir, queueCreate } from '../src/lib/queue/create.ts';

/** The middle value of xs (see module comment). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Resident, proportional and private memory of pid in kB (see module comment). */
export function smaps(pid: number): { rss: number; pss: number; uss: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
}

/** A home directory h with an empty Maildir (see module comment). */
export function maildirHome(h: string): void {
  for (const d of ['', '/Maildir', '/Maildir/tmp', '/Maildir/new', '/Maildir/cur']) mkdirSync(h + d, { mode: d ? 0o700 : 0o755 });
}

/** A qmail home for a bench below work (see module comment). */
export function queueHome(work: string): string {
  const qh = `${work}/qh`;
  mkdirSync(qh);
  queueCreate(qh, 23, { ids: { users: {} as never, groups: {} as never } });
  mkdirSync(`${qh}/users`);
  mkdirSync(`${qh}/control`);
  writeFileSync(`${qh}/control/me`, 'here.example\n');
  return qh;
}

/** Give dir's tree to uid:gid and become that user (see module comment). */
export function giveAndBecome(dir: string, uid: number, gid: number): void {
  const own = (p: string): void => {
    chownSync(p, uid, gid);
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) own(`${p}/${e}`);
  };
  own(dir);
  process.setgid!(gid);
  process.setuid!(uid);
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Start tcpserver `bin` with our qmail-smtpd on a free port of 127.0.0.1 (see module comment). */
export function smtpListener(bin: string, env: Record<string, string>): Promise<[ChildProcess, number]> {
  const args = ['-1', '-H', '-R', '-l', 'mx.bench', '-c', '100', '-b', '128', '127.0.0.1', '0', `${ROOT}/bin/qmail-smtpd`];
  return new Promise((res, rej) => {
    const c = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.on('exit', (code) => rej(new Error(`${bin} exited ${code}`)));
    c.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) res([c, Number(m[1])]);
    });
  });
}

/** SIGTERM c; resolves when it has exited. */
export function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((r) => {
    c.removeAllListeners('exit');
    c.on('exit', () => r());
    c.kill('SIGTERM');
  });
}

/** See the module comment; set before any TMPDIR change so children agree. */
export const TRASH = (process.env.BENCH_TRASH ??= `${tmpdir()}/bench-trash`);

/** A fresh `chattr +T` scratch directory below $TMPDIR (see the module comment). */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(`${tmpdir()}/${prefix}`);
  markTopDir(d);
  chmodSync(d, 0o755);
  return d;
}

/** Move dir into TRASH (made 0755 when missing). */
export function toTrash(dir: string): void {
  mkdirSync(TRASH, { recursive: true, mode: 0o755 });
  renameSync(dir, `${TRASH}/${basename(dir)}`);
}
