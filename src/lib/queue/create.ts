/**
 * queue/create: make (or repair) QMAILHOME/queue with qmail's layout, modes
 * and owners, as `make setup` (hier.c hier_queue) and `make check` expect:
 *
 *   queue            qmailq:qmail 0750     lock            qmailq:qmail 0750
 *   queue/pid        qmailq:qmail 0700     lock/tcpto      qmailr:qmail 0644, 1024 zero bytes
 *   queue/intd       qmailq:qmail 0700     lock/sendmutex  qmails:qmail 0600, empty
 *   queue/todo       qmailq:qmail 0750     lock/trigger    qmails:qmail 0622, FIFO
 *   queue/bounce     qmails:qmail 0700
 *   queue/mess[/S]   qmailq:qmail 0750     (S = 0 .. split-1)
 *   queue/info[/S], queue/local[/S], queue/remote[/S]   qmails:qmail 0700
 *
 * Owners are only set when running as root. A qmail user or group missing
 * from /etc/passwd or /etc/group (a development machine, the embedded
 * default) falls back to the invoking process's uid/gid, so the tree is then
 * owned by whoever made it; modes are always qmail's. Existing directories and
 * files are kept (their modes and owners are corrected; lock/tcpto and
 * lock/sendmutex keep their contents). The qmail home itself is created
 * (0755) when missing.
 *
 * A new queue/ gets the ext2/3/4 "top of directory hierarchy" attribute
 * (`chattr +T`, chattr(1)) before its subdirectories are made, and so do
 * new mess/, info/, local/ and remote/ before their split subdirectories,
 * so the kernel's Orlov allocator spreads pid/, intd/, todo/ and each S of
 * mess/S, info/S, local/S, remote/S over block groups instead of packing
 * them into their parent's group. Every message creates files in four of
 * them and frees as many, and a file's inode is allocated (and later freed)
 * in its directory's group; when the directories share a group, each create
 * scans past all inodes freed there in the last minute (ext4 without a
 * journal, `recently_deleted`), which bench/smtp-e2e.ts measured as most of
 * the queue's system time at a few hundred messages per second. Spread
 * out, info/S and local/S (S = N mod split, so consecutive messages go to
 * different subdirectories) see a split-th of that churn each. Nothing
 * about the queue's format changes; where chattr or the attribute is
 * missing (other filesystems), nothing happens.
 */
import { chmodSync, chownSync, closeSync, lstatSync, mkdirSync, openSync, writeSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { sys } from '../native.ts';
import { errCode } from '../errstr.ts';
import { qmailIds, type QmailIds } from '../qmailids.ts';
import { DEFAULT_SPLIT, queueDir } from './layout.ts';

/**
 * Give directory p the ext2/3/4 "top of directory hierarchy" attribute
 * (`chattr +T`), so that the Orlov allocator spreads its subdirectories over
 * block groups (see the module comment); nothing where chattr or the
 * attribute is missing.
 */
export function markTopDir(p: string): void {
  spawnSync('chattr', ['+T', p], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
}

/** Options of queueCreate. */
export interface QueueCreateOptions {
  /** ids to own the files (default: qmailIds() from /etc/passwd, /etc/group) */
  ids?: QmailIds;
}

/**
 * Create QMAILHOME/queue with `split` subdirectories in mess/info/local/remote.
 * Throws (errno `.code`) when a directory or file cannot be made.
 * @param home the qmail home (qmailHome(env))
 * @param split conf-split, default 23; must be >= 1
 */
export function queueCreate(home: string, split = DEFAULT_SPLIT, opts: QueueCreateOptions = {}): void {
  if (!Number.isInteger(split) || split < 1) throw new RangeError(`queueCreate: bad split ${split}`);
  const root = process.getuid?.() === 0;
  const ids = opts.ids ?? qmailIds();
  const uid0 = process.getuid?.() ?? 0;
  const gid0 = process.getgid?.() ?? 0;
  const gidq = ids.groups.qmail ?? gid0;
  const uidq = ids.users.qmailq ?? uid0;
  const uids = ids.users.qmails ?? uid0;
  const uidr = ids.users.qmailr ?? uid0;
  const own = (p: string, uid: number, mode: number): void => {
    if (root) chownSync(p, uid, gidq);
    chmodSync(p, mode);
  };
  const d = (p: string, uid: number, mode: number): void => {
    try {
      mkdirSync(p, mode);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    own(p, uid, mode);
  };
  const f = (p: string, uid: number, mode: number, zeros: number): void => {
    let fd: number;
    try {
      fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
      try {
        if (zeros > 0) writeSync(fd, Buffer.alloc(zeros));
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    own(p, uid, mode);
  };
  try {
    mkdirSync(home, { recursive: true, mode: 0o755 });
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw e;
  }
  const q = queueDir(home);
  let isNew = false;
  try {
    lstatSync(q);
  } catch {
    isNew = true;
  }
  d(q, uidq, 0o750);
  if (isNew) markTopDir(q);
  d(`${q}/pid`, uidq, 0o700);
  d(`${q}/intd`, uidq, 0o700);
  d(`${q}/todo`, uidq, 0o750);
  d(`${q}/bounce`, uids, 0o700);
  for (const [name, uid, mode] of [
    ['mess', uidq, 0o750],
    ['info', uids, 0o700],
    ['local', uids, 0o700],
    ['remote', uids, 0o700],
  ] as const) {
    d(`${q}/${name}`, uid, mode);
    if (isNew) markTopDir(`${q}/${name}`);
    for (let i = 0; i < split; i++) d(`${q}/${name}/${i}`, uid, mode);
  }
  d(`${q}/lock`, uidq, 0o750);
  f(`${q}/lock/tcpto`, uidr, 0o644, 1024);
  f(`${q}/lock/sendmutex`, uids, 0o600, 0);
  const trigger = `${q}/lock/trigger`;
  let isFifo = false;
  try {
    isFifo = lstatSync(trigger).isFIFO();
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  if (!isFifo) {
    // LWQ G.9: a regular file here makes qmail slow; replace it with the FIFO.
    try {
      sys.mkfifo(trigger, 0o622);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
      throw Object.assign(new Error(`${trigger} exists and is not a FIFO`), { code: 'EEXIST' });
    }
  }
  own(trigger, uids, 0o622);
}
