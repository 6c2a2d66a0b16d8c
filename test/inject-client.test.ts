/**
 * bin/qmail-inject and bin/sendmail through their native front end
 * (src/native/inject-client.c, bin/qmail-inject and bin/sendmail are links to
 * its two builds) and qmail-queued (src/lib/inject/served.ts):
 * for each case, the front end with the service listening gives the same
 * exit code, stdout, stderr and queued message (apart from the Date,
 * Message-ID and Received lines' times and pids) as the Node program run
 * directly; the service really served it (its connection count). Then what
 * must fall back to a Node process of the caller's own (QMAILQUEUE,
 * sendmail -bp, no service listening), a usage error answered without
 * reading descriptor 0, a client killed mid-message (nothing queued), and,
 * as root, the queue recording the client's uid (nobody), not the server's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { NODE, ROOT, isRoot, ours, tmpdir, until } from './helpers.ts';
import { queueCreate } from '../src/lib/queue/create.ts';
import { startQueued } from '../src/lib/queue/queued.ts';
import { queueSocketPath } from '../src/lib/queue/socket.ts';

const CLIENT = `${ROOT}/src/native/build/Release/qmail-inject`;
const skip = existsSync(CLIENT) ? '' : 'the native front end is not built (npm run build:native)';
if (skip) console.warn(`inject-client tests skipped: ${skip}`);

type Run = { exitCode: number | undefined; stdout: string; stderr: string };

/** Date, Message-ID and Received lines' variable parts (time, pid) masked. */
function mask(s: string): string {
  return s
    .replace(/^Date: .*$/gm, 'Date: D')
    .replace(/<\d{14}\.\d+\.qmail@/g, '<T.P.qmail@')
    .replace(/\(qmail \d+ invoked by uid (\d+)\); .*$/gm, '(qmail P invoked by uid $1); D');
}

describe.skipIf(skip !== '')('qmail-inject and sendmail through qmail-queued', () => {
  const top = tmpdir('qic-');
  chmodSync(top, 0o755);
  const home = `${top}/qmail`;
  let server: Server;
  let served = 0;

  beforeAll(async () => {
    mkdirSync(`${home}/control`, { recursive: true });
    writeFileSync(`${home}/control/me`, 'me.example\n');
    queueCreate(home, 3);
    mkdirSync(`${home}/qmail-queued`);
    server = await startQueued({ home, path: queueSocketPath(home), limit: 40, timeout: 60 });
    server.on('connection', () => served++);
  });
  afterAll(() => new Promise<void>((res) => server.close(() => res())));

  /** The queued messages (masked), oldest name first; the queue is emptied. */
  function drain(): string[] {
    const out: string[] = [];
    for (const n of readdirSync(`${home}/queue/todo`).sort()) {
      const id = Number(n);
      out.push(mask(readFileSync(`${home}/queue/mess/${id % 3}/${id}`, 'latin1')) + '|' + readFileSync(`${home}/queue/todo/${n}`, 'latin1').replace(/^u\d+\0p\d+\0/, ''));
      rmSync(`${home}/queue/mess/${id % 3}/${id}`);
      rmSync(`${home}/queue/todo/${n}`);
      rmSync(`${home}/queue/intd/${id}`, { force: true });
    }
    return out;
  }

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ QMAILHOME: home, USER: 'djb', NAME: 'Dan', ...extra });

  /** Run bin/NAME (front end) and the Node program itself on the same input; both results and queues. */
  async function both(name: 'qmail-inject' | 'sendmail', args: string[], input: string, extra: Record<string, string> = {}): Promise<[Run & { q: string[] }, Run & { q: string[] }, number]> {
    const opts = { input: Buffer.from(input, 'latin1'), env: env(extra), extendEnv: false, reject: false, stripFinalNewline: false, encoding: 'latin1' } as const;
    const before = served;
    const a = await execa(ours(name), args, opts);
    const viaServer = served - before;
    const qa = drain();
    const b = await execa(NODE, ['--disable-warning=ExperimentalWarning', `${ROOT}/dist/src/lib/launch.js`, `src/qmail/${name}`, name, ...args], opts);
    const qb = drain();
    const pick = (r: Run, q: string[]) => ({ exitCode: r.exitCode, stdout: mask(r.stdout), stderr: r.stderr, q });
    return [pick(a as Run, qa), pick(b as Run, qb), viaServer];
  }

  const CASES: Array<[string, 'qmail-inject' | 'sendmail', string[], string, Record<string, string>?]> = [
    ['-n prints', 'qmail-inject', ['-n', 'x@y.example'], 'Subject: s\n\nhello\n'],
    ['queues with -f and Bcc', 'qmail-inject', ['-f', 'bounce@b.example', 'a@x.example'], 'To: c@z.example\nBcc: d@w.example\n\nbody\xe9\n'],
    ['recipients from the header (-h), QMAILINJECT=c', 'qmail-inject', ['-h'], 'To: c@z.example, e\n\nx\n', { QMAILINJECT: 'c' }],
    ['illegal option', 'qmail-inject', ['-z'], ''],
    ['option without its argument', 'qmail-inject', ['-n', '-f'], ''],
    ['unparsable header', 'qmail-inject', ['-n'], 'From: (x\n\n'],
    ['unparsable address', 'qmail-inject', ['-n', 'a@[b'], '\n'],
    ['sendmail -t -f -F', 'sendmail', ['-t', '-f', 's@x.example', '-F', 'Full Name'], 'To: t@y.example\n\nb\n'],
    ['sendmail -oi with recipients', 'sendmail', ['-oi', 'r@y.example'], 'Subject: s\n\nb\n'],
    ['sendmail usage', 'sendmail', ['-q'], ''],
  ];
  for (const [what, name, args, input, extra] of CASES) {
    it(`${name}: ${what}: the same as the Node program, served by qmail-queued`, async () => {
      const [a, b, viaServer] = await both(name, args, input, extra);
      expect(a).toEqual(b);
      expect(viaServer).toBe(1);
    });
  }

  it('falls back to the Node program for QMAILQUEUE and sendmail -bp', async () => {
    const d = tmpdir('qicq-');
    writeFileSync(`${d}/qq`, `#!/bin/sh\ncat > ${d}/msg\ncat 0<&1 1>${d}/env\n`);
    chmodSync(`${d}/qq`, 0o755);
    let r = await execa(ours('qmail-inject'), ['a@b.example'], { input: 'x\n', env: env({ QMAILQUEUE: `${d}/qq` }), extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`${d}/env`, 'latin1')).toBe('Fdjb@me.example\0Ta@b.example\0\0');
    const before = served;
    r = await execa(ours('sendmail'), ['-bp'], { env: env(), extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(served - before).toBe(1); // asked, answered F, then qmail-qread ran
  });

  it('sendmail invoked as newaliases or mailq: the name read as the Node program reads it', async () => {
    const d = tmpdir('qicn-');
    symlinkSync(ours('sendmail'), `${d}/newaliases`);
    symlinkSync(ours('sendmail'), `${d}/mailq`);
    const before = served;
    const n = await execa(`${d}/newaliases`, [], { env: env(), extendEnv: false, reject: false, input: '' });
    expect([n.exitCode, n.stderr]).toEqual([100, 'sendmail: fatal: please use fastforward/newaliases instead']);
    const m = await execa(`${d}/mailq`, [], { env: env(), extendEnv: false, reject: false, input: '' });
    expect([m.exitCode, m.stderr]).toEqual([0, '']); // qmail-qread, exec'd by the Node program
    expect(served - before).toBe(2);
  });

  it('falls back when nothing listens on the socket', async () => {
    const h = `${top}/stale`;
    mkdirSync(`${h}/control`, { recursive: true });
    mkdirSync(`${h}/qmail-queued`);
    writeFileSync(`${h}/qmail-queued/socket`, '');
    writeFileSync(`${h}/control/me`, 'me.example\n');
    const r = await execa(ours('qmail-inject'), ['-n', 'a@b.example'], { input: '\n', env: { QMAILHOME: h, USER: 'u' }, extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^Return-Path: <u@me\.example>\n/);
  });

  it('a usage error is answered without reading descriptor 0', async () => {
    // stdin is a pipe nobody closes: reading it would hang
    const c = spawn(ours('qmail-inject'), ['-z'], { env: env(), stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((res) => c.on('close', res));
    c.stdin!.destroy();
    expect([code, err]).toEqual([100, 'qmail-inject: illegal option -- z\n']);
  });

  it('a client killed in the middle of its message queues nothing', async () => {
    const c = spawn(ours('qmail-inject'), ['a@b.example'], { env: env(), stdio: ['pipe', 'ignore', 'ignore'] });
    const before = served;
    c.stdin!.write('Subject: half\n\nsome of the body\n');
    await until(() => served > before);
    await new Promise((r) => setTimeout(r, 100));
    c.kill('SIGKILL');
    await new Promise((res) => c.on('close', res));
    await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(`${home}/queue/todo`)).toEqual([]);
    expect(readdirSync(`${home}/queue/intd`)).toEqual([]);
    expect(readdirSync(`${home}/queue/pid`)).toEqual([]);
  });

  it.skipIf(!isRoot)('records the client\'s uid and pid (nobody), not the service\'s', async () => {
    chmodSync(home, 0o755);
    const r = await execa(ours('setuidgid'), ['nobody', ours('qmail-inject'), 'a@b.example'], { input: 'x\n', env: env(), extendEnv: false, reject: false });
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const n = readdirSync(`${home}/queue/todo`)[0];
    const mess = readFileSync(`${home}/queue/mess/${Number(n) % 3}/${n}`, 'latin1');
    const m = /^Received: \(qmail (\d+) invoked by uid 65534\);/.exec(mess);
    expect(m).not.toBeNull();
    expect(readFileSync(`${home}/queue/todo/${n}`, 'latin1')).toMatch(new RegExp(`^u65534\0p${m![1]}\0`));
    expect(mess).toMatch(new RegExp(`Message-ID: <\\d{14}\\.${m![1]}\\.qmail@me\\.example>`));
    drain();
  });
});
