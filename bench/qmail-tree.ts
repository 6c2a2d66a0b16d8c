/**
 * bench/qmail-tree: a throw-away qmail home for benchmarks and torture runs:
 * a queue (split 23), control/me `here.example`, one local user `a`
 * (users/assign, compiled by qmail-newu) with a Maildir, and qmail-start's
 * process tree delivering into it. As root, the files are given to nobody
 * and the calling process becomes nobody (qmail never delivers as root), so
 * call setupTree() before anything else that needs root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { giveAndBecome, maildirHome, queueHome } from './lib.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What setupTree() made. */
export interface Tree {
  /** the scratch directory (remove it when done) */
  work: string;
  /** the qmail home */
  qh: string;
  /** user a's home; deliveries land in mbox/Maildir/new */
  mbox: string;
  /** environment for our programs (PATH, QMAILHOME, USER) */
  env: Record<string, string>;
}

/** Make the qmail home and mailbox (see module comment). */
export function setupTree(prefix: string): Tree {
  const root = process.getuid!() === 0;
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  const work = mkdtempSync(`${tmpdir()}/${prefix}`);
  chmodSync(work, 0o755);
  const qh = queueHome(work);
  const mbox = `${work}/a`;
  maildirHome(mbox);
  writeFileSync(`${qh}/users/assign`, `=a:a:${uid}:${gid}:${mbox}:::\n.\n`);
  if (root) giveAndBecome(work, uid, gid);
  const env = { PATH: process.env.PATH ?? '/bin:/usr/bin', QMAILHOME: qh, USER: 'bench' };
  const r = spawnSync(`${ROOT}/bin/qmail-newu`, [], { env });
  if (r.status !== 0) throw new Error(`qmail-newu: ${r.status}`);
  return { work, qh, mbox, env };
}

/**
 * Start `qmail-start ./Maildir/`; resolves once qmail-send logged its first
 * line. onLine sees every log line. When the tree exits instead (silently,
 * or with `alert: cannot start: ...`, as it can right after a kill -9 of the
 * previous one while that one's children still hold the lock), it is
 * started again, up to 20 times, then the promise rejects with the reason.
 */
/** How many times startTree() had to start the tree again (reported by the torture script). */
export const treeStats = { restarts: 0, lastFailure: '' };

export async function startTree(t: Tree, onLine: (l: string) => void = () => undefined): Promise<ChildProcess> {
  let why = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    const p = spawn(`${ROOT}/bin/qmail-start`, ['./Maildir/'], { env: t.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
    let part = '';
    let first: ((l: string) => void) | undefined;
    const firstLine = new Promise<string | undefined>((res) => {
      first = res;
      p.once('close', () => res(undefined));
    });
    p.stdout!.on('data', (b: Buffer) => {
      const lines = (part + b.toString('latin1')).split('\n');
      part = lines.pop()!;
      for (const l of lines) {
        first?.(l);
        first = undefined;
        onLine(l);
      }
    });
    const line = await firstLine;
    if (line !== undefined && !line.startsWith('alert: cannot start')) return p;
    await new Promise<void>((res) => (p.exitCode !== null || p.signalCode !== null ? res() : p.once('close', () => res())));
    why = `qmail-start exited ${p.exitCode ?? p.signalCode}: ${line ?? ''}${err}`;
    treeStats.restarts++;
    treeStats.lastFailure = why;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(why);
}

/** Child pids of pid (qmail-send's: lspawn first, then rspawn, clean). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Stop qmail-send with TERM (it finishes deliveries, then exits) and wait. */
export function stopTree(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const closed = new Promise<void>((res) => p.once('close', () => res()));
  p.kill('SIGTERM');
  return closed;
}

/** Files in Maildir/new. */
export function delivered(t: Tree): string[] {
  return readdirSync(`${t.mbox}/Maildir/new`);
}

/** Messages in the queue not yet completely delivered (todo + info). */
export function pending(t: Tree): number {
  let n = readdirSync(`${t.qh}/queue/todo`).length;
  for (const s of readdirSync(`${t.qh}/queue/info`)) n += readdirSync(`${t.qh}/queue/info/${s}`).length;
  return n;
}
