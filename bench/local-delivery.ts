/**
 * bench/local-delivery: qmail-lspawn deliveries into Maildir per second,
 * driven through qmail's spawn protocol exactly as qmail-send drives it.
 *
 *   node bench/local-delivery.ts [N]     (default N = 1000)
 *
 * Rows:
 *  - N messages to one mailbox, one delivery at a time (the local half of
 *    "1000 sequential local injections"), and with 10 in flight
 *    (concurrencylocal's default);
 *  - one message to 1024 mailboxes (1024 accounts from users/assign), 10 in
 *    flight, wall time;
 * each for lspawn's in-process path (lspawn running as the mailbox owner:
 * nobody when this runs as root) and, when root, for the root path (lspawn
 * as root, deliveries in a per-uid worker as nobody). Every delivery is
 * fsync'd before its report, as qmail-local does. There is no C qmail on
 * this machine: the C figures are ../shared/ANCHORS.md's (287 msgs/s
 * injection + delivery; 1024 mailboxes in 1.4 s), printed with the ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queueCreate } from '../src/lib/queue/create.ts';
import { encodeCommand, ReportParser, type Report } from '../src/lib/spawn/protocol.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 1000);
const root = process.getuid!() === 0;
const UID = root ? 65534 : process.getuid!();
const GID = root ? 65534 : process.getgid!();
const work = mkdtempSync(`${tmpdir()}/lbench-`);
chmodSync(work, 0o755);
const MSG = Buffer.concat([Buffer.from('From: a@b.example\nTo: r@c.example\nSubject: bench\n\n'), Buffer.alloc(460, 'x'), Buffer.from('\n')]);

function own(p: string): void {
  if (root) chownSync(p, UID, GID);
}

function mkhome(h: string): void {
  mkdirSync(h, { mode: 0o755 });
  own(h);
  for (const d of ['Maildir', 'Maildir/tmp', 'Maildir/new', 'Maildir/cur']) {
    mkdirSync(`${h}/${d}`, { mode: 0o700 });
    own(`${h}/${d}`);
  }
}

function setup(tag: string, homes: number, queueOwner: number): { qh: string; homes: string[] } {
  const qh = `${work}/${tag}`;
  queueCreate(qh, 1, { ids: { users: {} as never, groups: {} as never } });
  if (root) for (const p of [qh, `${qh}/queue`, `${qh}/queue/mess`, `${qh}/queue/mess/0`]) chownSync(p, queueOwner, queueOwner === 0 ? 0 : GID);
  writeFileSync(`${qh}/queue/mess/0/1`, MSG);
  if (root) chownSync(`${qh}/queue/mess/0/1`, queueOwner, queueOwner === 0 ? 0 : GID);
  mkdirSync(`${qh}/users`);
  const hs: string[] = [];
  let assign = '';
  for (let i = 0; i < homes; i++) {
    const h = `${work}/${tag}-h${i}`;
    mkhome(h);
    hs.push(h);
    assign += `=u${i}:u${i}:${UID}:${GID}:${h}:::\n`;
  }
  writeFileSync(`${qh}/users/assign`, assign + '.\n');
  return { qh, homes: hs };
}

async function newu(qh: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const c = spawn(`${ROOT}/bin/qmail-newu`, [], { env: { ...process.env, QMAILHOME: qh }, stdio: 'inherit' });
    c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`qmail-newu ${code}`))));
  });
}

/** A qmail-send stand-in: commands in, reports out. */
class Lspawn {
  readonly child: ChildProcess;
  private readonly parser = new ReportParser();
  private greeted = false;
  private readonly waiting = new Map<number, (r: Report) => void>();
  readonly ready: Promise<void>;
  constructor(qh: string, asUid: number | undefined, asGid: number | undefined) {
    this.child = spawn(`${ROOT}/bin/qmail-lspawn`, ['./Maildir/'], {
      env: { PATH: process.env.PATH!, QMAILHOME: qh },
      uid: asUid,
      gid: asGid,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let ready: () => void;
    this.ready = new Promise((r) => (ready = r));
    this.child.stdout!.on('data', (d: Buffer) => {
      if (!this.greeted) {
        this.greeted = true;
        ready();
        d = d.subarray(1);
      }
      for (const r of this.parser.push(d)) {
        const w = this.waiting.get(r.delnum);
        this.waiting.delete(r.delnum);
        w?.(r);
      }
    });
  }
  deliver(delnum: number, recipient: string): Promise<Report> {
    return new Promise((res) => {
      this.waiting.set(delnum, res);
      this.child.stdin!.write(encodeCommand({ delnum, messid: '0/1', sender: 's@x.example', recipient }));
    });
  }
  rssKB(): number {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }
  async close(): Promise<void> {
    this.child.stdin!.end();
    await new Promise((r) => this.child.on('exit', r));
  }
}

async function run(lsp: Lspawn, recips: string[], inflight: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  const lane = async (slot: number): Promise<void> => {
    while (next < recips.length) {
      const r = await lsp.deliver(slot, recips[next++]);
      if (r.status !== 'K') throw new Error(`delivery failed: ${r.status}${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, (_, i) => lane(i)));
  return (performance.now() - t) / 1000;
}

async function scenario(label: string, asRoot: boolean): Promise<void> {
  const tag = asRoot ? 'root' : 'inproc';
  const one = setup(`${tag}-one`, 1, asRoot ? 0 : UID);
  await newu(one.qh);
  const many = setup(`${tag}-many`, 1024, asRoot ? 0 : UID);
  await newu(many.qh);
  const who = asRoot ? [0, 0] : root ? [UID, GID] : [undefined, undefined];
  const a = new Lspawn(one.qh, who[0], who[1]);
  await a.ready;
  await run(a, Array(20).fill('u0@example.com'), 1); // warm-up (worker start, JIT)
  const s1 = await run(a, Array(N).fill('u0@example.com'), 1);
  const s10 = await run(a, Array(N).fill('u0@example.com'), 10);
  const rss1 = a.rssKB();
  await a.close();
  const got = readdirSync(`${one.homes[0]}/Maildir/new`).length;
  if (got !== 2 * N + 20) throw new Error(`expected ${2 * N + 20} files, found ${got}`);
  const b = new Lspawn(many.qh, who[0], who[1]);
  await b.ready;
  await run(b, ['u0@example.com'], 1);
  const sm = await run(b, many.homes.map((_, i) => `u${i}@example.com`), 10);
  const rssm = b.rssKB();
  await b.close();
  console.log(`${label}`);
  console.log(`  ${N} deliveries, 1 in flight:   ${(N / s1).toFixed(0).padStart(6)} /s   (C qmail, injection + delivery: 287 msgs/s; ratio ${(N / s1 / 287).toFixed(2)})`);
  console.log(`  ${N} deliveries, 10 in flight:  ${(N / s10).toFixed(0).padStart(6)} /s`);
  console.log(`  1 message to 1024 mailboxes:  ${sm.toFixed(3).padStart(6)} s    (C qmail: 1.4 s; ratio ${(1.4 / sm).toFixed(2)}x faster)`);
  console.log(`  qmail-lspawn RSS: ${(rss1 / 1024).toFixed(1)} MB after the ${N}-message runs, ${(rssm / 1024).toFixed(1)} MB after 1024 mailboxes`);
}

try {
  await scenario(`in-process path (qmail-lspawn as uid ${UID}, the mailboxes' owner)`, false);
  if (root) await scenario('root path (qmail-lspawn as root, a worker as uid 65534)', true);
} finally {
  rmSync(work, { recursive: true, force: true });
}
