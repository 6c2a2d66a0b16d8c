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

/**
 * In an `strace -f -e trace=openat,link,linkat,fsync` output file: whether
 * the successful link to `target` is followed by a successful fsync of a
 * descriptor opened (O_DIRECTORY) on directory `dir`.
 */
export function fsyncedAfterLink(traceFile: string, target: string, dir: string): boolean {
  const lines = readFileSync(traceFile, 'latin1').split('\n');
  const link = lines.findIndex((l) => /\blink(at)?\(/.test(l) && l.includes(`"${target}"`) && / += 0$/.test(l));
  if (link < 0) return false;
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const fds = new Set(lines.flatMap((l) => new RegExp(`openat\\(AT_FDCWD, "${esc(dir)}", [^)]*O_DIRECTORY[^)]*\\) += (\\d+)$`).exec(l)?.[1] ?? []));
  return lines.slice(link + 1).some((l) => [...fds].some((fd) => new RegExp(`fsync\\(${fd}\\) += 0$`).test(l)));
}
