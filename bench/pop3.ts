/**
 * bench/pop3: qmail-pop3d's RETR throughput and POP3 session start latency.
 *
 *   node bench/pop3.ts [MESSAGES] [SESSIONS]   (default 10000 messages, 15 sessions)
 *
 * Setup: a maildir of MESSAGES messages of 2-6 KB (about 40 MB, mtimes in
 * the past, owned by nobody when run as root), a password file made with
 * qmail-poppass, and `tcpserver 127.0.0.1 0 qmail-popup bench.example
 * checkpassword qmail-pop3d Maildir` (as in Life with qmail 5.2.1) under our
 * tcpserver (qmail-popup in-process) and under Debian's tcpserver (every
 * program a process) when installed.
 * Rows:
 *  - RETR: one session logs in and RETRs every message, one command at a
 *    time as fetchmail does: MB/s (bytes on the wire) and messages/s;
 *  - session start: connect -> greeting -> USER/PASS -> qmail-pop3d's `+OK`
 *    -> QUIT, median and p90 over SESSIONS sessions, with a one-message
 *    mailbox and with the full one (qmail-pop3d scans it first).
 * The C originals (qmail-popup, qmail-pop3d, checkpassword) are not
 * installed on this machine (Debian ships no qmail), so only ours is
 * printed; ../shared/ANCHORS.md has no POP3 figure either.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 10_000);
const SESSIONS = Number(process.argv[3] ?? 15);
const root = process.getuid?.() === 0;
const NOBODY = 65534;
const work = mkdtempSync(`${tmpdir()}/pop3-bench-`);
chmodSync(work, 0o755);

function mkMaildir(home: string, n: number): void {
  for (const d of [home, `${home}/Maildir`, `${home}/Maildir/new`, `${home}/Maildir/cur`, `${home}/Maildir/tmp`]) {
    mkdirSync(d);
    if (root) chownSync(d, NOBODY, NOBODY);
  }
  const base = Math.floor(Date.now() / 1000) - 86400;
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n';
  for (let i = 0; i < n; i++) {
    const body = line.repeat(25 + (i % 50));
    const m = `Return-Path: <a@example.org>\nDelivered-To: bench@example.org\nSubject: message ${i}\nMessage-ID: <${i}@example.org>\n\n${body}`;
    const f = `${home}/Maildir/new/${base + i}.${i}.bench`;
    writeFileSync(f, m);
    utimesSync(f, base + i, base + i);
    if (root) chownSync(f, NOBODY, NOBODY);
  }
}

/** A line-oriented POP3 client connection. */
class Client {
  private buf: Buffer = Buffer.alloc(0);
  private want: { multi: boolean; resolve: (b: Buffer) => void } | undefined;
  readonly sock: Socket;
  bytes = 0;
  constructor(port: number) {
    this.sock = connect({ host: '127.0.0.1', port });
    this.sock.on('data', (b: Buffer) => {
      this.bytes += b.length;
      this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
      this.check();
    });
  }
  private check(): void {
    if (!this.want) return;
    const end = this.want.multi ? this.buf.indexOf('\r\n.\r\n') : this.buf.indexOf('\r\n');
    if (end < 0) return;
    const len = end + (this.want.multi ? 5 : 2);
    const got = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    const w = this.want;
    this.want = undefined;
    w.resolve(got);
  }
  reply(multi = false): Promise<Buffer> {
    return new Promise((resolve) => {
      this.want = { multi, resolve };
      this.check();
    });
  }
  async cmd(line: string, multi = false): Promise<Buffer> {
    this.sock.write(line + '\r\n');
    const r = await this.reply(multi && true);
    if (multi && !r.subarray(0, 3).equals(Buffer.from('+OK'))) throw new Error(r.toString());
    return r;
  }
  close(): void {
    this.sock.destroy();
  }
}

async function login(port: number, user: string): Promise<Client> {
  const c = new Client(port);
  await c.reply();
  await c.cmd(`USER ${user}`);
  const r = await c.cmd('PASS bench-pass');
  if (!r.toString().startsWith('+OK')) throw new Error(`login failed: ${r.toString()}`);
  return c;
}

function start(bin: string, env: NodeJS.ProcessEnv): Promise<{ port: number; child: ChildProcess }> {
  return new Promise((res, rej) => {
    const child = spawn(bin, ['-1', '-c', '40', '-R', '-H', '-l0', '127.0.0.1', '0', 'qmail-popup', 'bench.example', 'checkpassword', 'qmail-pop3d', 'Maildir'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('exit', (c) => rej(new Error(`${bin} exited ${c}`)));
    child.stdout!.once('data', (b: Buffer) => res({ port: Number(b.toString().trim()), child }));
  });
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function sessionStart(port: number, user: string): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const t0 = process.hrtime.bigint();
    const c = await login(port, user);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await c.cmd('QUIT');
    c.close();
  }
  return ms;
}

async function retrAll(port: number, user: string): Promise<{ mbs: number; mps: number; bytes: number }> {
  const c = await login(port, user);
  const stat = (await c.cmd('STAT')).toString().split(' ');
  const n = Number(stat[1]);
  const b0 = c.bytes;
  const t0 = process.hrtime.bigint();
  for (let i = 1; i <= n; i++) await c.cmd(`RETR ${i}`, true);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = c.bytes - b0;
  c.close(); // no QUIT: the maildir stays as it is for the next run
  return { mbs: bytes / 1e6 / s, mps: n / s, bytes };
}

async function main(): Promise<void> {
  console.log(`preparing ${N} messages in ${work} ...`);
  mkMaildir(`${work}/big`, N);
  mkMaildir(`${work}/small`, 1);
  const passfile = `${work}/poppasswd`;
  const ids = root ? ['-u', String(NOBODY), '-g', String(NOBODY)] : [];
  for (const [u, h] of [['big', `${work}/big`], ['small', `${work}/small`]]) {
    execFileSync(`${ROOT}/bin/qmail-poppass`, [...ids, u, h], { input: 'bench-pass\n', env: { POPPASSWD: passfile } });
  }
  const env = { PATH: `${ROOT}/bin:/usr/bin:/bin`, POPPASSWD: passfile };
  const servers: Array<[string, string]> = [['ours under our tcpserver (qmail-popup in-process)', `${ROOT}/bin/tcpserver`]];
  if (existsSync('/usr/bin/tcpserver')) servers.push(["ours under Debian's tcpserver", '/usr/bin/tcpserver']);
  for (const [name, bin] of servers) {
    const srv = await start(bin, env);
    try {
      const small = await sessionStart(srv.port, 'small');
      const big = await sessionStart(srv.port, 'big');
      const r = await retrAll(srv.port, 'big');
      console.log(`\n${name}`);
      console.log(`  RETR of ${N} messages (${(r.bytes / 1e6).toFixed(1)} MB on the wire): ${r.mbs.toFixed(1)} MB/s, ${r.mps.toFixed(0)} messages/s`);
      console.log(`  session start, 1-message maildir:  median ${pct(small, 0.5).toFixed(1)} ms, p90 ${pct(small, 0.9).toFixed(1)} ms`);
      console.log(`  session start, ${N}-message maildir: median ${pct(big, 0.5).toFixed(1)} ms, p90 ${pct(big, 0.9).toFixed(1)} ms`);
    } finally {
      srv.child.removeAllListeners('exit');
      srv.child.kill('SIGTERM');
    }
  }
  console.log('\nC originals: qmail-popup/qmail-pop3d/checkpassword are not installed here (Debian ships no qmail): no comparison row.');
  rmSync(work, { recursive: true, force: true });
}

void main();
