/**
 * Replays the scripted cases of test/fixtures/notqmail/ (qmail-smtpd SMTP
 * sessions, qmail-inject header cases) against a program and collects
 * what it wrote, so notqmail-golden.test.ts can compare our programs with
 * the transcripts recorded from notqmail's C programs (README.md there says
 * how they were recorded). Nothing here knows which program it runs.
 *
 * A qmail-smtpd session: the program runs with the case's environment on a
 * pipe as stdin/stdout (as tcpserver would hand it a socket), each step is
 * one write followed by a pause, then stdin is closed (unless the case keeps
 * it open, for the timeout) and the program's exit awaited. QMAILQUEUE is a
 * shell script that keeps every message (fd 0) and envelope (fd 1) it is
 * given as CAPDIR/N.msg and CAPDIR/N.env and exits with $CAPEXIT (default 0).
 */
import { execa } from 'execa';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** One write of a session: a line (CRLF added), several lines in one write, raw bytes, a repeat, or a pause (ms). */
export type Step = string | { lines: string[] } | { raw: string } | { repeat: string; times: number } | { pause: number };

/** Environment overrides: a null value removes the variable. */
export type EnvDelta = Record<string, string | null>;

export interface SmtpCase {
  name: string;
  send: Step[];
  env?: EnvDelta;
  controls?: EnvDelta;
  keepOpen?: boolean;
  /** The pause after each write, ms (default 40). */
  pauseMs?: number;
}

/** A recorded suite: the controls and environment every case starts from, and the cases. */
export interface Cases<C> {
  controls: Record<string, string>;
  env: Record<string, string>;
  cases: C[];
}

export type SmtpCases = Cases<SmtpCase>;

export interface InjectCase {
  name: string;
  args?: string[];
  env?: EnvDelta;
  controls?: EnvDelta;
  input: string;
  /** run without -n's printing: QMAILQUEUE is the capture script, the queued message and envelope are compared */
  queue?: boolean;
}

export type InjectCases = Cases<InjectCase>;

/** What one session produced: the bytes written to stdout, the exit status, the queued messages. */
export interface SmtpResult {
  out: Buffer;
  /** stderr (qmail-smtpd writes nothing there; kept to explain a failure) */
  err: Buffer;
  status: number;
  messages: Array<{ msg: Buffer; env: Buffer }>;
}

/** Default pause after each write (ms): the replies are the same bytes either way. */
const PAUSE = 40;

/** The capture script used as QMAILQUEUE. */
export const CAPTURE = `#!/bin/sh
cd "$CAPDIR" || exit 81
cat > msg.tmp || exit 53
cat <&1 > env.tmp || exit 54
if [ -s env.tmp ]; then
  n=$(ls | grep -c '\\.env$')
  n=$((n + 1))
  mv msg.tmp $n.msg && mv env.tmp $n.env
fi
rm -f msg.tmp env.tmp
exit \${CAPEXIT:-0}
`;

/** A string of the JSON files as bytes: every character is one byte (latin1). */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Apply overrides to a base environment (null removes). */
export function withEnv(base: Record<string, string>, delta: EnvDelta = {}): Record<string, string> {
  const env = { ...base };
  for (const [k, v] of Object.entries(delta)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** `@HOME@` in the environment's values stands for the qmail home of the run (QMAILMFTFILE=@HOME@/control/mft). */
export function atHome(env: Record<string, string>, home: string): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('@HOME@', home)]));
}

/**
 * Write a control directory: `base` with `delta` applied (null removes).
 * `morercpthosts` is written as is; the caller turns it into
 * morercpthosts.cdb (each program under test with its own tool).
 */
export function writeControls(dir: string, base: Record<string, string>, delta: EnvDelta = {}): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(withEnv(base, delta))) writeFileSync(`${dir}/${k}`, v, 'latin1');
}

/** The writes of a session, in order: Buffers to send, numbers to wait. */
function writes(steps: Step[], pause: number): Array<Buffer | number> {
  const w: Array<Buffer | number> = [];
  for (const s of steps) {
    if (typeof s === 'string') w.push(bytes(`${s}\r\n`));
    else if ('lines' in s) w.push(bytes(s.lines.map((l) => `${l}\r\n`).join('')));
    else if ('raw' in s) w.push(bytes(s.raw));
    else if ('repeat' in s) w.push(bytes(s.repeat.repeat(s.times)));
    else {
      w.push(s.pause);
      continue;
    }
    w.push(pause);
  }
  return w;
}

/**
 * The same session cut into writes of 1 to `max` bytes (sizes from the
 * seeded PRNG `rnd`), 1 ms apart: qmail-smtpd's output does not depend on
 * how its input arrives, so the golden transcript of `c` still holds.
 */
export function chunked(c: SmtpCase, rnd: () => number, max = 7): SmtpCase {
  const all = Buffer.concat(writes(c.send, 0).filter((w): w is Buffer => typeof w !== 'number')).toString('latin1');
  const send: Step[] = [];
  for (let p = 0; p < all.length; ) {
    const n = 1 + Math.floor(rnd() * max);
    send.push({ raw: all.slice(p, p + n) });
    p += n;
  }
  return { ...c, send, pauseMs: 1 };
}

/**
 * Run one SMTP session: `cmd` with `env` (CAPDIR and QMAILQUEUE are added:
 * the capture script is written into `work`), the case's steps on stdin.
 * Resolves with stdout's bytes, the exit status and the captured messages.
 */
export async function runSmtpSession(cmd: string, env: Record<string, string>, c: SmtpCase, work: string): Promise<SmtpResult> {
  const cap = `${work}/cap-${c.name}`;
  rmSync(cap, { recursive: true, force: true });
  mkdirSync(cap, { recursive: true });
  writeFileSync(`${work}/capture`, CAPTURE);
  chmodSync(`${work}/capture`, 0o755);
  const p = execa(cmd, [], {
    env: { CAPDIR: cap, QMAILQUEUE: `${work}/capture`, ...env },
    extendEnv: false,
    stdin: 'pipe',
    encoding: 'buffer',
    stripFinalNewline: false,
    reject: false,
    timeout: 20_000,
  });
  p.stdin!.on('error', () => {}); // EPIPE: the server has gone (QUIT, bare LF, timeout)
  let gone = false;
  void p.finally(() => (gone = true));
  for (const w of writes(c.send, c.pauseMs ?? PAUSE)) {
    if (typeof w === 'number') await new Promise((r) => setTimeout(r, w));
    else if (!gone && !p.stdin!.destroyed) p.stdin!.write(w);
  }
  if (!c.keepOpen) p.stdin!.end();
  const r = await p;
  if (c.keepOpen) p.stdin!.destroy();
  const messages = captured(cap);
  rmSync(cap, { recursive: true, force: true });
  return { out: Buffer.from(r.stdout as Uint8Array), err: Buffer.from(r.stderr as Uint8Array), status: r.exitCode ?? -1, messages };
}

/** What a qmail-inject run produced; `messages` only when the case queues (`queue`). */
export interface InjectResult {
  out: Buffer;
  err: Buffer;
  status: number;
  messages: Array<{ msg: Buffer; env: Buffer }>;
}

/** The messages the capture script kept in `cap`, in order. */
function captured(cap: string): Array<{ msg: Buffer; env: Buffer }> {
  return readdirSync(cap)
    .filter((f) => f.endsWith('.env'))
    .map((f) => Number(f.slice(0, -4)))
    .sort((a, b) => a - b)
    .map((n) => ({ msg: readFileSync(`${cap}/${n}.msg`), env: readFileSync(`${cap}/${n}.env`) }));
}

/**
 * Run `cmd ARGS` (qmail-inject; ARGS default `-n`) with `env` and the case's
 * input: stdout, stderr, exit status. A case with `queue` runs with
 * QMAILQUEUE set to the capture script (written into `work`), whose kept
 * messages and envelopes are returned.
 */
export async function runInject(cmd: string, env: Record<string, string>, c: InjectCase, work?: string): Promise<InjectResult> {
  let cap: string | undefined;
  if (c.queue) {
    if (!work) throw new Error('a queueing case needs a work directory');
    cap = `${work}/cap-${c.name}`;
    rmSync(cap, { recursive: true, force: true });
    mkdirSync(cap, { recursive: true });
    writeFileSync(`${work}/capture`, CAPTURE);
    chmodSync(`${work}/capture`, 0o755);
    env = { CAPDIR: cap, QMAILQUEUE: `${work}/capture`, ...env };
  }
  const r = await execa(cmd, c.args ?? ['-n'], { env, extendEnv: false, input: bytes(c.input), encoding: 'buffer', stripFinalNewline: false, reject: false, timeout: 20_000 });
  const messages = cap ? captured(cap) : [];
  if (cap) rmSync(cap, { recursive: true, force: true });
  return { out: Buffer.from(r.stdout as Uint8Array), err: Buffer.from(r.stderr as Uint8Array), status: r.exitCode ?? -1, messages };
}

const DATE = /\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000/g;

/** qmail-smtpd's replies with the acceptance's time and qp masked. */
export function maskReplies(b: Buffer): string {
  return b.toString('latin1').replace(/^250 ok \d+ qp \d+\r$/gm, '250 ok TIME qp PID\r');
}

/** A queued message with the Received field's date masked. */
export function maskMessage(b: Buffer): string {
  return b.toString('latin1').replace(DATE, 'DATE');
}

/** qmail-inject's output with the values of the Date and Message-ID fields it made masked. */
export function maskInjected(b: Buffer): string {
  return b
    .toString('latin1')
    .replace(/^((?:Resent-)?Date): \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000$/gm, '$1: DATE')
    .replace(/^((?:Resent-)?Message-ID): <\d+\.\d+\.qmail@([^>]*)>$/gm, '$1: <TIME.PID.qmail@$2>')
    .replace(/^(Return-Path: <.*)-\d+\.\d+(-?@)/m, '$1-TIME.PID$2');
}

/** An envelope with QMAILINJECT=m's `-TIME.PID@` in the sender masked. */
export function maskEnvelope(b: Buffer): string {
  return b.toString('latin1').replace(/^(F[^\0]*)-\d+\.\d+(-?@)/, '$1-TIME.PID$2');
}
