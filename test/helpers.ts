/**
 * Shared test helpers: paths of the checkout, our launchers and Debian's
 * originals, temporary directories that are removed after the test file, and
 * a skip reason when an oracle is not installed, and a minimal SMTP client.
 */
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir as osTmp } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The pinned Node binary. */
export const NODE = `${ROOT}/node_modules/node/bin/node`;

/** Path of our launcher bin/NAME. */
export function ours(name: string): string {
  return `${ROOT}/bin/${name}`;
}

/** Path of Debian's original (/usr/bin/NAME), or undefined when not installed. */
export function theirs(name: string): string | undefined {
  for (const d of ['/usr/bin', '/usr/sbin', '/bin', '/sbin']) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return undefined;
}

/** True when running as root (tests needing uid changes skip otherwise). */
export const isRoot = process.getuid?.() === 0;

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test file. */
export function tmpdir(prefix = 'qmt-'): string {
  const d = mkdtempSync(`${osTmp()}/${prefix}`);
  made.push(d);
  return d;
}

/**
 * An open descriptor as execa's stdin: execa hands an integer straight to
 * spawn's stdio (so the program gets a regular file on fd 0, not a pipe),
 * but its types do not list integers.
 */
export function fdStdin(fd: number): 'pipe' {
  return fd as unknown as 'pipe';
}

/** Wait until pred() is true, polling every `every` ms, failing after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, ms = 5000, every = 20): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A seeded PRNG (mulberry32): numbers in [0, 1), the same for a seed, so failures replay. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/**
 * A minimal SMTP client for 127.0.0.1:port: sends each of cmds (raw bytes,
 * CRLFs included) after the previous reply and resolves with every reply
 * (multi-line ones whole), the greeting first. Rejects when the connection
 * fails or closes before a reply.
 */
export async function smtpReplies(port: number, cmds: string[]): Promise<string[]> {
  const s = connect(port, '127.0.0.1');
  let buf = '';
  const waiters: Array<() => void> = [];
  s.on('data', (b: Buffer) => {
    buf += b.toString('latin1');
    waiters.splice(0).forEach((w) => w());
  });
  s.on('error', () => waiters.splice(0).forEach((w) => w()));
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /^(?:\d{3}-.*\r\n)*\d{3} .*\r\n/.exec(buf);
      if (m) {
        buf = buf.slice(m[0].length);
        return m[0];
      }
      if (s.destroyed) throw new Error('connection closed');
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  try {
    const out = [await reply()];
    for (const c of cmds) {
      s.write(c);
      out.push(await reply());
    }
    return out;
  } finally {
    s.destroy();
  }
}

/** Whether strace can trace a child here (installed, and ptrace allowed). */
export async function canStrace(): Promise<boolean> {
  const r = await execa('strace', ['-f', '-qq', '-o', '/dev/null', 'true'], { reject: false }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** One system call in an `strace -f` output file: its name, arguments, result, and the line numbers where it started and where it returned. */
export interface TracedCall {
  call: string;
  args: string;
  ret: string;
  start: number;
  end: number;
}

/**
 * The system calls of an `strace -f -o FILE` output file in the order they
 * returned, with the `<unfinished ...>` / `<... resumed>` halves that strace
 * writes when threads interleave joined into one call.
 */
export function straceCalls(traceFile: string): TracedCall[] {
  const lines = readFileSync(traceFile, 'latin1').split('\n');
  const open = new Map<string, { call: string; args: string; start: number }>();
  const calls: TracedCall[] = [];
  lines.forEach((l, i) => {
    const un = /^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$/.exec(l);
    if (un) {
      open.set(`${un[1]} ${un[2]}`, { call: un[2], args: un[3], start: i });
      return;
    }
    const re = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$/.exec(l);
    if (re) {
      const o = open.get(`${re[1]} ${re[2]}`);
      open.delete(`${re[1]} ${re[2]}`);
      if (o) calls.push({ call: o.call, args: o.args + re[3], ret: re[4], start: o.start, end: i });
      return;
    }
    const whole = /^(?:\d+ +)?(\w+)\((.*)\) += (.*)$/.exec(l);
    if (whole) calls.push({ call: whole[1], args: whole[2], ret: whole[3], start: i, end: i });
  });
  return calls;
}

/**
 * In an `strace -f -e trace=openat,link,linkat,fsync` output file: whether
 * the successful link to `target` is followed by a successful fsync, started
 * after the link returned, of a descriptor opened (O_DIRECTORY) on directory
 * `dir`.
 */
export function fsyncedAfterLink(traceFile: string, target: string, dir: string): boolean {
  const calls = straceCalls(traceFile);
  const link = calls.find((c) => /^link(at)?$/.test(c.call) && c.args.includes(`"${target}"`) && c.ret === '0');
  if (!link) return false;
  const fds = new Set(calls.filter((c) => c.call === 'openat' && c.args.startsWith(`AT_FDCWD, "${dir}", `) && c.args.includes('O_DIRECTORY') && /^\d+$/.test(c.ret)).map((c) => c.ret));
  return calls.some((c) => c.call === 'fsync' && fds.has(c.args) && c.ret === '0' && c.start > link.end);
}
