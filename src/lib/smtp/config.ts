/**
 * smtp/config: what qmail-smtpd reads when a connection starts (its
 * setup(); qmail-smtpd(8) "CONTROL FILES", tcp-environ(5)), from a qmail
 * home's control files and the environment tcpserver gave it:
 *
 *   smtpgreeting (default me; neither -> error), localiphost (default me;
 *   neither -> no rewriting), timeoutsmtpd (default 1200, <= 0 -> 1),
 *   rcpthosts + morercpthosts.cdb, badmailfrom, databytes (default 0;
 *   DATABYTES overrides it: its leading digits, 0 when none);
 *   TCPREMOTEIP, TCPLOCALHOST/TCPLOCALIP, TCPREMOTEHOST (each `unknown` when
 *   unset), TCPREMOTEINFO, RELAYCLIENT, SMTPS (TLS from the start).
 * Beyond the original: servercert.pem (STARTTLS) and checkpassword (its
 * first line, split at blanks: the checkpassword program and its arguments,
 * e.g. `/usr/bin/checkpassword /bin/true`; AUTH) and rcptcheck (recipient
 * validation; its content is not read) when they exist.
 *
 * Throws when the qmail home cannot be entered or a control file cannot be
 * read (the caller answers `421 unable to read controls (#4.3.0)`).
 *
 * The original reads its control files at every connection; so do we in
 * effect, but cheaply under a long-lived tcpserver: what the files gave is
 * kept per qmail home with each file's stat (device, inode, size, mtime,
 * ctime; "absent" for a missing one) and the control directory's, and used
 * again only while they all still match, so an edit, a replacement, a new
 * or a removed file is seen by the next connection. A file that was absent
 * (no directory entry at all, lstat) is not stat'ed again while the
 * directory's stat matches: an entry cannot appear without changing the
 * directory's mtime. Files or a directory changed in the last 100 ms (2 s
 * where timestamps are whole seconds) are not trusted (a change within one
 * timestamp tick would keep the same stat): the read result is then not
 * kept. Any stat error other than ENOENT takes the uncached path, which
 * reports it as before. morercpthosts.cdb is opened afresh for every
 * session where it exists, and nothing is kept when control/rcptcheck
 * exists (its user database is read as it goes).
 */
import { accessSync, constants, lstatSync, readFileSync, statSync } from 'node:fs';
import { errCode } from '../errstr.ts';
import { Control, scanUlong } from '../control.ts';
import { BadMailFrom } from './badmailfrom.ts';
import { ipmeIs } from './ipme.ts';
import { RcptHosts } from './rcpthosts.ts';
import { RcptCheck } from './rcptcheck.ts';
import type { SmtpConfig } from './session.ts';

/** A file's bytes, or undefined when it does not exist; other errors throw. */
function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** No smtpgreeting and no me. */
export class NoGreeting extends Error {
  constructor() {
    super('no smtpgreeting and no me');
  }
}

/** What a session takes from the control files (see loadConfig). */
interface Controls {
  greeting: string;
  lip: string | undefined;
  timeout: number;
  badmailfrom: BadMailFrom;
  databytes: number;
  tlsPem: Buffer | undefined;
  checkpassword: string[] | undefined;
  rcptcheck: RcptCheck | undefined;
  rcpthosts: Set<string> | undefined;
}

/** The control files loadConfig reads (morercpthosts.cdb, last, is opened per session when it exists). */
const FILES = ['smtpgreeting', 'me', 'localiphost', 'timeoutsmtpd', 'badmailfrom', 'databytes', 'servercert.pem', 'checkpassword', 'rcptcheck', 'rcpthosts', 'morercpthosts.cdb'];
const MORE = FILES.length - 1;

/**
 * Milliseconds a file must be unchanged before its stat may stand for its
 * content: a few clock ticks when its timestamps have sub-second parts, 2 s
 * on a file system that keeps whole seconds only.
 */
const SETTLED_MS = 100;
const SETTLED_COARSE_MS = 2000;

/** Per qmail home: the directory's and each file's stat signature, the files with no entry, and what they gave. */
interface Kept {
  dir: string;
  sigs: string[];
  absent: Set<string>;
  controls: Controls;
}
const kept = new Map<string, Kept>();

/** Read the control files (uncached). */
function readControls(home: string, c: Control): Controls {
  const greeting = c.readline('smtpgreeting') ?? c.me();
  if (greeting === undefined) throw new NoGreeting();
  const lip = c.readline('localiphost') ?? c.me();
  let timeout = c.readint('timeoutsmtpd') ?? 1200;
  if (timeout <= 0) timeout = 1;
  const badmailfrom = new BadMailFrom(c.readfile('badmailfrom'));
  const databytes = c.readint('databytes') ?? 0;
  const tlsPem = readOptional(c.path('servercert.pem'));
  const checkpassword = c.readline('checkpassword')?.split(/[ \t]+/).filter((w) => w !== '');
  const rcptcheck = c.readline('rcptcheck') !== undefined ? new RcptCheck(home, c) : undefined;
  const rcpthosts = RcptHosts.hostSet(c.readfile('rcpthosts'));
  return { greeting, lip, timeout, badmailfrom, databytes, tlsPem, checkpassword, rcptcheck, rcpthosts };
}

/** A stat's signature, and whether it changed too recently to be trusted (see the module comment). */
function statSig(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }, now: number): { sig: string; recent: boolean } {
  const changed = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs;
  const wait = changed % 1_000_000_000n === 0n ? SETTLED_COARSE_MS : SETTLED_MS;
  return { sig: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, recent: now - Number(changed / 1_000_000n) < wait };
}

/**
 * The control directory's signature, each control file's ('' when absent;
 * a file absent in `prev` is not stat'ed while the directory matches), the
 * files without any entry, and whether everything is settled. Throws stat
 * errors.
 */
function signatures(c: Control, prev: Kept | undefined): { dir: string; sigs: string[]; absent: Set<string>; settled: boolean } {
  const now = Date.now();
  const d = statSig(statSync(c.dir, { bigint: true }), now);
  let settled = !d.recent;
  const same = prev !== undefined && prev.dir === d.sig;
  const absent = new Set<string>();
  const sigs = FILES.map((name) => {
    if (same && prev.absent.has(name)) {
      absent.add(name);
      return '';
    }
    const st = statSync(c.path(name), { bigint: true, throwIfNoEntry: false });
    if (st === undefined) {
      // a dangling symbolic link must be stat'ed every time (its target may appear)
      if (lstatSync(c.path(name), { throwIfNoEntry: false }) === undefined) absent.add(name);
      return '';
    }
    const f = statSig(st, now);
    if (f.recent) settled = false;
    return f.sig;
  });
  return { dir: d.sig, sigs, absent, settled };
}

/** The control files' values, from the kept copy while every stat matches; and whether morercpthosts.cdb is known to be absent. */
function controlsOf(home: string, c: Control): [Controls, boolean] {
  const hit = kept.get(home);
  let sig: ReturnType<typeof signatures>;
  try {
    sig = signatures(c, hit);
  } catch {
    return [readControls(home, c), false];
  }
  const moreAbsent = sig.absent.has(FILES[MORE]);
  if (hit && hit.dir === sig.dir && hit.sigs.every((s, i) => s === sig.sigs[i])) return [hit.controls, moreAbsent];
  const controls = readControls(home, c);
  if (sig.settled && controls.rcptcheck === undefined) kept.set(home, { dir: sig.dir, sigs: sig.sigs, absent: sig.absent, controls });
  else kept.delete(home);
  return [controls, moreAbsent];
}

/** Read the session's configuration (see the module comment); close its rcpthosts when done. */
export function loadConfig(home: string, env: Record<string, string | undefined>): SmtpConfig {
  accessSync(home, constants.X_OK);
  const c = new Control(home);
  const [k, moreAbsent] = controlsOf(home, c);
  let databytes = k.databytes;
  const x = env.DATABYTES;
  if (x !== undefined) databytes = scanUlong(x) ?? 0;
  // unsigned int in the original
  databytes = databytes % 2 ** 32;
  if (databytes === 2 ** 32 - 1) databytes--;
  // last: it keeps morercpthosts.cdb open (the caller closes it)
  const rcpthosts = RcptHosts.withCdb(k.rcpthosts, c, moreAbsent);
  return {
    greeting: k.greeting,
    liphost: k.lip === undefined ? undefined : { host: k.lip, isMe: ipmeIs },
    timeout: k.timeout,
    rcpthosts,
    badmailfrom: k.badmailfrom,
    databytes,
    remoteIp: env.TCPREMOTEIP ?? 'unknown',
    local: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? 'unknown',
    remoteHost: env.TCPREMOTEHOST ?? 'unknown',
    remoteInfo: env.TCPREMOTEINFO,
    relayClient: env.RELAYCLIENT,
    tlsPem: k.tlsPem,
    checkpassword: k.checkpassword,
    rcptcheck: k.rcptcheck,
    smtps: env.SMTPS !== undefined && env.SMTPS !== '',
  };
}
