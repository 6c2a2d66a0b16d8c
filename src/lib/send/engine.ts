/**
 * send/engine: qmail-send's scheduler (qmail-send(8), INTERNALS; the
 * structure of qmail-send.c: priority queues, jobs, passes, deliveries),
 * event-driven instead of select(): every event (a report, a qmail-clean
 * answer, a trigger pull, a timer, a signal) ends in pump(), which does all
 * the work that is due and arms one timer for the next due time.
 *
 * Message life (INTERNALS): todo/N -> preprocess (todo.ts) -> info/S/N +
 * local/S/N / remote/S/N. Each channel has a priority queue of messages by
 * next attempt time. A "pass" takes the due message, opens a job for it
 * (sender and birth from info, next retry from the schedule of retry.ts,
 * flagdying when older than queuelifetime) and walks its channel file,
 * starting one delivery per `T` record while a slot is free. Reports:
 * K -> markdone (write `D` over the `T`), D -> append to bounce/N then
 * markdone, Z -> nothing (a Z for a dying message becomes a D with "I'm not
 * going to try again; this message has been in the queue too long.").
 * When a job's pass hit EOF and no recipient is left it unlinks the channel
 * file; when neither channel file is left the message is "done": the bounce
 * is injected (bounce.ts), `end msg N` logged, info unlinked and
 * qmail-clean asked to remove mess and intd (`foop/N`). Otherwise the job
 * goes back to its queue at its retry time.
 *
 * TERM: no new passes or preprocessing; when no delivery is in progress the
 * queues' due times are saved as the channel files' mtimes (pqfinish; read
 * back at start by pqadd) and `status: exiting` ends the log. ALRM: every
 * queued message is due now (pqrun). HUP: reread locals and virtualdomains.
 */
import { appendFileSync, closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { errCode } from '../errstr.ts';
import { parseId, qfn, readSubdir } from '../queue/layout.ts';
import { submitMessage } from '../queue/client.ts';
import { isStatus, verpSender as verp, type Report } from '../spawn/protocol.ts';
import { bounceHead, bounceParagraph, bouncePlan } from './bounce.ts';
import { canClean, gone, OSSIFIED } from './clean.ts';
import type { SendControls } from './controls.ts';
import { rereadMaps } from './controls.ts';
import { logsafe } from './logline.ts';
import { CleanClient, SpawnChannel } from './pipes.ts';
import { Prioq } from './prioq.ts';
import { CHANSKIP, nextRetry } from './retry.ts';
import { stripVdomPrepend } from './rewrite.ts';
import { preprocess } from './todo.ts';

const D = Buffer.from('D');

/** Check todo/ every 25 minutes even without a trigger pull. */
export const SLEEP_TODO = 1500;
/** Time between cleanups of old mess/ files (seconds). */
export const SLEEP_CLEANUP = 76431;
/** Retry delay after a system failure (seconds). */
export const SLEEP_SYSFAIL = 123;
/** Todo entries preprocessed at once (their fsyncs overlap). */
export const TODO_PARALLEL = 8;

const CHANADDR = ['local', 'remote'] as const;
const TOCHAN = [' to local ', ' to remote '];

interface Job {
  refs: number;
  id: number;
  channel: number;
  retry: number;
  sender: string;
  numtodo: number;
  hiteof: boolean;
  dying: boolean;
}

interface Del {
  j: number;
  delid: number;
  /** offset of the record's T in the channel file */
  mpos: number;
  recip: string;
}

interface Pass {
  id: number;
  j: number;
  recs: Array<{ pos: number; rec: string }>;
  next: number;
}

/** Settings of an Engine. */
export interface EngineOptions {
  /** the qmail home */
  home: string;
  split: number;
  controls: SendControls;
  /** environment for bounce injection (QMAILQUEUE) */
  env: Record<string, string | undefined>;
  log: (line: string) => void;
  /** greeting bytes already read: the spawners' limits */
  spawnLimit: [number, number];
  /** fds: [lspawn cmd, lspawn report, rspawn cmd, rspawn report, clean req, clean answer] */
  fds: [number, number, number, number, number, number];
  /** called once when the engine has finished (TERM) */
  onExit: () => void;
}

/** seconds since the epoch */
const now = (): number => Math.floor(Date.now() / 1000);

/** qmail-send's state machine (see module comment). */
export class Engine {
  private readonly o: EngineOptions;
  private readonly queue: string;
  private ctl: SendControls;
  private recent = now();
  private exitasap = false;
  private runasap = false;
  private readasap = false;
  private finished = false;

  private readonly conc: [number, number];
  private readonly used: [number, number] = [0, 0];
  private readonly dels: Array<Array<Del | undefined>>;
  private readonly chans: SpawnChannel[];
  private readonly clean: CleanClient;
  private readonly jobs: Job[];
  private readonly pass: Array<Pass | undefined> = [undefined, undefined];
  private readonly pqchan = [new Prioq(), new Prioq()];
  private readonly pqdone = new Prioq();
  private readonly pqfail = new Prioq();
  private masterdelid = 1;

  /** asynchronous job_close steps (the channel file's unlink, or the whole end of the message) in progress */
  private ops = 0;
  private todoWanted = true;
  private nexttodorun = now();
  private todoList: number[] = [];
  private readonly todoBusy = new Set<number>();
  private readonly doneBusy = new Set<number>();
  private trigger: Socket | undefined;
  private cleanuptime = now();
  private cleanupRunning = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private pumping = false;
  private pumpAgain = false;

  constructor(o: EngineOptions) {
    this.o = o;
    this.queue = `${o.home}/queue`;
    this.ctl = o.controls;
    this.conc = [Math.min(o.controls.concurrency[0], o.spawnLimit[0]), Math.min(o.controls.concurrency[1], o.spawnLimit[1])];
    this.dels = [new Array(this.conc[0]).fill(undefined), new Array(this.conc[1]).fill(undefined)];
    this.jobs = [];
    for (let j = 0; j < this.conc[0] + this.conc[1]; j++) this.jobs.push({ refs: 0, id: 0, channel: 0, retry: 0, sender: '', numtodo: 0, hiteof: false, dying: false });
    const f = o.fds;
    this.chans = [0, 1].map(
      (c) =>
        new SpawnChannel(
          f[2 * c],
          f[2 * c + 1],
          (r) => this.report(c, r),
          () => this.spawndied(),
        ),
    );
    this.clean = new CleanClient(
      f[4],
      f[5],
      () => {
        this.o.log('alert: oh no! lost qmail-clean connection! dying...');
        this.exitasap = true;
        this.pump();
      },
      canClean(this.queue, o.split) ? { queue: this.queue, split: o.split } : undefined,
    );
  }

  /** Start: load info/ into the queues, log the first status, watch the trigger, run. */
  start(): void {
    this.pqstart();
    this.status();
    this.triggerSet();
    this.pump();
  }

  /** TERM */
  term(): void {
    this.exitasap = true;
    this.pump();
  }

  /** ALRM */
  alarm(): void {
    this.runasap = true;
    this.pump();
  }

  /** HUP */
  hangup(): void {
    this.readasap = true;
    this.pump();
  }

  private fn(dir: 'info' | 'todo' | 'mess' | 'local' | 'remote' | 'bounce', id: number): string {
    return qfn(dir, id, this.o.split);
  }

  private path(name: string): string {
    return `${this.queue}/${name}`;
  }

  /** A spawner's pipe closed: stop; its deliveries in progress are not waited for (del_canexit). */
  private spawndied(): void {
    this.o.log('alert: oh no! lost spawn connection! dying...');
    this.exitasap = true;
    this.pump();
  }

  private status(): void {
    this.o.log(`status: local ${this.used[0]}/${this.conc[0]} remote ${this.used[1]}/${this.conc[1]}${this.exitasap ? ' exitasap' : ''}`);
  }

  // ------------------------------------------------------------ TRIGGER

  private triggerSet(): void {
    let fd: number;
    try {
      // read and write: the FIFO never reports EOF, so no reopen after each pull
      fd = openSync(this.path('lock/trigger'), constants.O_RDWR | constants.O_NONBLOCK);
    } catch {
      return;
    }
    let s: Socket;
    try {
      if (!fstatSync(fd).isFIFO()) throw new Error('not a FIFO');
      s = new Socket({ fd, readable: true, writable: false, allowHalfOpen: true });
    } catch {
      closeSync(fd); // a regular file (LWQ G.9): todo/ is then scanned every SLEEP_TODO only
      return;
    }
    s.on('data', () => {
      this.todoWanted = true;
      this.pump();
    });
    s.on('error', () => undefined);
    this.trigger = s;
  }

  // ------------------------------------------------------------ PRIORITY QUEUES

  private pqadd(id: number): void {
    const st = (name: string): 'yes' | 'no' | 'fail' => {
      try {
        statSync(this.path(name));
        return 'yes';
      } catch (e) {
        return errCode(e) === 'ENOENT' ? 'no' : 'fail';
      }
    };
    const fail = (name: string): void => {
      this.o.log(`warning: unable to stat ${name}; will try again later`);
      this.pqfail.insert({ id, dt: now() + SLEEP_SYSFAIL });
    };
    const info = st(this.fn('info', id));
    if (info === 'fail') return fail(this.fn('info', id));
    if (info === 'no') return;
    const todo = st(this.fn('todo', id));
    if (todo === 'yes') return; // crashed while preprocessing: todo/ will redo it
    if (todo === 'fail') return fail(this.fn('todo', id));
    const dts: Array<number | undefined> = [undefined, undefined];
    for (const c of [0, 1]) {
      const name = this.fn(CHANADDR[c], id);
      try {
        dts[c] = Math.floor(statSync(this.path(name)).mtimeMs / 1000);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') return fail(name);
      }
    }
    for (const c of [0, 1]) if (dts[c] !== undefined) this.pqchan[c].insert({ id, dt: dts[c]! });
    if (dts[0] === undefined && dts[1] === undefined) this.pqdone.insert({ id, dt: now() });
  }

  private pqstart(): void {
    for (let s = 0; s < this.o.split; s++) {
      let ids: number[];
      try {
        ids = readSubdir(this.queue, 'info', s);
      } catch {
        this.o.log(`alert: unable to opendir info/${s}, sleeping...`);
        continue;
      }
      for (const id of ids) this.pqadd(id);
    }
  }

  private pqfinish(): void {
    for (const c of [0, 1]) {
      for (let e = this.pqchan[c].delmin(); e; e = this.pqchan[c].delmin()) {
        const name = this.fn(CHANADDR[c], e.id);
        try {
          utimesSync(this.path(name), e.dt, e.dt);
        } catch {
          this.o.log(`warning: unable to utime ${name}; message will be retried too soon`);
        }
      }
    }
  }

  private pqrun(): void {
    for (const c of [0, 1]) for (const e of this.pqchan[c].all()) e.dt = this.recent;
  }

  // ------------------------------------------------------------ JOBS

  private jobAvail(): boolean {
    return this.jobs.some((j) => j.refs === 0);
  }

  private jobOpen(id: number, channel: number): number {
    const j = this.jobs.findIndex((x) => x.refs === 0);
    const jo = this.jobs[j];
    jo.refs = 1;
    jo.id = id;
    jo.channel = channel;
    jo.numtodo = 0;
    jo.hiteof = false;
    return j;
  }

  /**
   * Drop a reference to job j (job_close). The last one puts the message
   * back in its channel's queue at its retry time, or, when its pass hit EOF
   * with nothing left to do, unlinks the channel file and, when the other
   * channel has no file either, marks the message done. When messdone()
   * would then have nothing to do but remove the message (lastFile: no
   * other channel file, no todo/N, no bounce, info/N there), its end is done
   * here at once (endMessage): the channel file, info/N, then qmail-clean's
   * intd/N and mess/S/N, in messdone's order, in one pool job instead of
   * three; these unlinks free files and wait for the device's discard on a
   * `discard` mount.
   */
  private jobClose(j: number): void {
    const jo = this.jobs[j];
    if (--jo.refs > 0) return;
    const { id, channel, retry } = jo;
    if (!(jo.hiteof && jo.numtodo === 0)) {
      this.pqchan[channel].insert({ id, dt: retry });
      return;
    }
    const name = this.fn(CHANADDR[channel], id);
    const last = this.lastFile(id, channel);
    if (last) this.doneBusy.add(id);
    this.track(
      (async () => {
        let unlinked: boolean;
        try {
          unlinked = last ? await this.endMessage(id, [name]) : gone((await this.clean.after([], [this.path(name)], undefined)).before[0]);
        } finally {
          if (last) this.doneBusy.delete(id);
        }
        if (!unlinked) {
          this.o.log(`warning: unable to unlink ${name}; will try again later`);
          this.pqchan[channel].insert({ id, dt: now() + SLEEP_SYSFAIL });
          return;
        }
        if (last) return;
        const other = this.fn(CHANADDR[1 - channel], id);
        try {
          if (this.exists(other)) return; // more channels going
        } catch {
          this.o.log(`warning: unable to stat ${other}`);
        }
        this.pqdone.insert({ id, dt: now() });
      })(),
    );
  }

  /**
   * True when channel's file is the message's last but info/N: the other
   * channel's file, todo/N and bounce/N are absent and info/N is there (so
   * messdone would go straight to removing it). Any stat failure says
   * false: messdone then does its checks and logs what failed.
   */
  private lastFile(id: number, channel: number): boolean {
    if (this.doneBusy.has(id)) return false;
    try {
      for (const n of [this.fn(CHANADDR[1 - channel], id), this.fn('todo', id), this.fn('bounce', id)]) if (this.exists(n)) return false;
      return this.exists(this.fn('info', id));
    } catch {
      return false;
    }
  }

  /** Count an asynchronous step (job_close's unlink) until it settles, then pump. */
  private track(p: Promise<void>): void {
    this.ops++;
    void p
      .catch(() => undefined)
      .finally(() => {
        this.ops--;
        this.pump();
      });
  }

  // ------------------------------------------------------------ INFO

  /** True / false for name (below queue/) existing / ENOENT; other errors throw. (No exception for ENOENT: building one costs more than the stat.) */
  private exists(name: string): boolean {
    return statSync(this.path(name), { throwIfNoEntry: false }) !== undefined;
  }

  /** info/S/N's sender and mtime (getinfo), or undefined. A small file in the page cache: read directly. */
  private getinfo(id: number): { sender: string; birth: number } | undefined {
    let fd: number;
    try {
      fd = openSync(this.path(this.fn('info', id)), constants.O_RDONLY);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      const b = Buffer.allocUnsafe(st.size);
      const n = readSync(fd, b, 0, b.length, null);
      const z = b.subarray(0, n).indexOf(0);
      if (z < 0 || b[0] !== 0x46) return undefined;
      return { sender: b.subarray(1, z).toString('latin1'), birth: Math.floor(st.mtimeMs / 1000) };
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  // ------------------------------------------------------------ DELIVERIES

  private delAvail(c: number): boolean {
    return this.chans[c].alive && this.used[c] < this.conc[c];
  }

  private delCanexit(): boolean {
    for (const c of [0, 1]) if (this.chans[c].alive && this.used[c] > 0) return false;
    return true;
  }

  private delStart(j: number, mpos: number, recip: string): void {
    const c = this.jobs[j].channel;
    if (!this.chans[c].alive) return;
    const i = this.dels[c].indexOf(undefined);
    if (i < 0) return;
    const jo = this.jobs[j];
    jo.refs++;
    const delid = this.masterdelid++;
    this.dels[c][i] = { j, delid, mpos, recip };
    this.used[c]++;
    this.chans[c].write({ delnum: i, messid: `${jo.id % this.o.split}/${jo.id}`, sender: verp(jo.sender, recip), recipient: recip });
    this.o.log(`starting delivery ${delid}: msg ${jo.id}${TOCHAN[c]}${logsafe(recip)}`);
    this.status();
  }

  /** Write `D` over the recipient's `T` at pos in local/ or remote/ (markdone): one byte into the page cache, as qmail-send.c (no fsync). */
  private markdone(c: number, id: number, pos: number): void {
    const name = this.fn(CHANADDR[c], id);
    let fd: number;
    try {
      fd = openSync(this.path(name), constants.O_WRONLY);
    } catch {
      this.o.log(`warning: trouble marking ${name}; message will be delivered twice!`);
      return;
    }
    try {
      if (writeSync(fd, D, 0, 1, pos) !== 1) throw new Error('short write');
    } catch {
      this.o.log(`warning: trouble marking ${name}; message will be delivered twice!`);
    } finally {
      closeSync(fd);
    }
  }

  /** Append a failure paragraph to bounce/N; false when that is impossible (the failure is then deferred). */
  private addbounce(id: number, recip: string, text: string): boolean {
    try {
      appendFileSync(this.path(this.fn('bounce', id)), Buffer.from(bounceParagraph(stripVdomPrepend(recip, this.ctl.maps), text), 'latin1'), { mode: 0o600 });
      return true;
    } catch {
      this.o.log('alert: unable to append to bounce message; HELP! sleeping...');
      return false;
    }
  }

  private report(c: number, r: Report): void {
    const d = r.delnum < this.conc[c] ? this.dels[c][r.delnum] : undefined;
    if (!d) {
      this.o.log('warning: internal error: delivery report out of range');
      return;
    }
    const jo = this.jobs[d.j];
    let status = r.status;
    let text = r.text;
    if (status === 'Z' && jo.dying) {
      status = 'D';
      text += "I'm not going to try again; this message has been in the queue too long.\n";
    }
    let done = false;
    if (!isStatus(status)) {
      this.o.log(`delivery ${d.delid}: report mangled, will defer`);
    } else if (status === 'K') {
      this.o.log(`delivery ${d.delid}: success: ${logsafe(text)}`);
      done = true;
    } else if (status === 'Z') {
      this.o.log(`delivery ${d.delid}: deferral: ${logsafe(text)}`);
    } else {
      this.o.log(`delivery ${d.delid}: failure: ${logsafe(text)}`);
      done = this.addbounce(jo.id, d.recip, text);
    }
    this.dels[c][r.delnum] = undefined;
    this.used[c]--;
    this.status();
    if (done) {
      // the D is written before the job's reference is dropped, so the last
      // reference (which may unlink the file) always comes after every markdone
      this.markdone(c, jo.id, d.mpos);
      jo.numtodo--;
    }
    this.jobClose(d.j);
    this.pump();
  }

  // ------------------------------------------------------------ PASSES

  /** Start channel c's pass over message id with job j: read its channel file and info (pass_dochan's first half). */
  private openPass(c: number, id: number, j: number): void {
    const name = this.fn(CHANADDR[c], id);
    let b: Buffer | undefined;
    try {
      b = readFileSync(this.path(name));
    } catch {
      /* reported below */
    }
    const info = b && this.getinfo(id);
    if (!b || !info) {
      this.o.log(`warning: trouble opening ${name}; will try again later`);
      this.jobs[j].refs = 0;
      this.pass[c] = undefined;
      this.pqchan[c].insert({ id, dt: now() + SLEEP_SYSFAIL });
      return;
    }
    const recs: Pass['recs'] = [];
    let s = 0;
    for (let z = b.indexOf(0, s); z >= 0; z = b.indexOf(0, s)) {
      recs.push({ pos: s, rec: b.subarray(s, z).toString('latin1') });
      s = z + 1;
    }
    const jo = this.jobs[j];
    const recent = now();
    jo.retry = nextRetry(info.birth, recent, CHANSKIP[c]);
    jo.dying = recent > info.birth + this.ctl.lifetime;
    jo.sender = info.sender;
    this.pass[c] = { id, j, recs, next: 0 };
  }

  /** Work on channel c's pass; true when something happened. */
  private passDoChan(c: number): boolean {
    if (this.exitasap) return false;
    let did = false;
    if (!this.pass[c]) {
      if (!this.jobAvail()) return false;
      const pe = this.pqchan[c].min();
      if (!pe || pe.dt > this.recent) return false;
      this.pqchan[c].delmin();
      this.openPass(c, pe.id, this.jobOpen(pe.id, c));
      return true;
    }
    const p = this.pass[c];
    while (this.delAvail(c)) {
      if (p.next >= p.recs.length) {
        this.jobs[p.j].hiteof = true;
        this.jobClose(p.j);
        this.pass[c] = undefined;
        return true;
      }
      const { pos, rec } = p.recs[p.next++];
      if (rec[0] === 'T') {
        this.jobs[p.j].numtodo++;
        this.delStart(p.j, pos, rec.slice(1));
        did = true;
      } else if (rec[0] !== 'D') {
        this.o.log(`warning: unknown record type in ${this.fn(CHANADDR[c], p.id)}!`);
        this.jobClose(p.j);
        this.pass[c] = undefined;
        return true;
      }
    }
    return did;
  }

  // ------------------------------------------------------------ DONE

  private async injectbounce(id: number): Promise<boolean> {
    // as injectbounce(): no bounce file, nothing to do (info is read only when there is one)
    const bname = this.fn('bounce', id);
    let paragraphs: Buffer;
    try {
      if (!this.exists(bname)) return true;
      paragraphs = readFileSync(this.path(bname));
    } catch {
      this.o.log(`warning: unable to stat ${bname}`);
      return false;
    }
    const info = this.getinfo(id);
    if (!info) return false;
    const plan = bouncePlan(info.sender, this.ctl.doublebounceto);
    if (plan === 'discard') this.o.log(`triple bounce: discarding ${bname}`);
    else {
      let mess: Buffer;
      try {
        mess = readFileSync(this.path(this.fn('mess', id)));
      } catch {
        this.o.log('warning: trouble injecting bounce message, will try later');
        return false;
      }
      if (this.ctl.bouncemaxbytes > 0 && mess.length > this.ctl.bouncemaxbytes) mess = mess.subarray(0, this.ctl.bouncemaxbytes);
      const head = bounceHead(plan, info.sender, this.ctl.bouncefrom, this.ctl.bouncehost, paragraphs.toString('latin1'), now());
      const message = Buffer.concat([Buffer.from(head, 'latin1'), mess]);
      const envelope = Buffer.from(`F${plan.sender}\0T${plan.recip}\0\0`, 'latin1');
      let r;
      try {
        r = await submitMessage(this.o.env, { home: this.o.home, invoker: 'bounce' }, message, envelope);
      } catch {
        r = { code: 81, reply: 'Z', pid: undefined as number | undefined };
      }
      if (r.code !== 0) {
        this.o.log('warning: trouble injecting bounce message, will try later');
        return false;
      }
      this.o.log(`bounce msg ${id} qp ${r.pid ?? process.pid}`);
    }
    try {
      unlinkSync(this.path(bname));
    } catch {
      this.o.log(`warning: unable to unlink ${bname}`);
      return false;
    }
    return true;
  }

  private async messdone(id: number): Promise<void> {
    const fail = (): void => {
      this.pqdone.insert({ id, dt: now() + SLEEP_SYSFAIL });
    };
    const exists = (name: string): boolean | undefined => {
      try {
        return this.exists(name);
      } catch {
        this.o.log(`warning: unable to stat ${name}; will try again later`);
        return undefined;
      }
    };
    for (const name of [this.fn('local', id), this.fn('remote', id), this.fn('todo', id)]) {
      const x = exists(name);
      if (x === true) return; // false alarm
      if (x === undefined) return fail();
    }
    const info = exists(this.fn('info', id));
    if (info === false) return;
    if (info === undefined) return fail();
    if (!(await this.injectbounce(id))) return fail();
    await this.endMessage(id, []);
  }

  /**
   * A finished message's last steps (messdone's): `end msg N` (logged
   * first, so a watcher that sees the queue empty has the line), then the
   * queue names in `before` (job_close's channel file), info/N, and
   * qmail-clean's intd/N and mess/S/N, in that order and in one pool job
   * when cleaning directly. False when one of `before` could not be
   * unlinked (nothing after it was tried: the caller says so and retries);
   * a failed info/N is logged and tried again later, as messdone does.
   */
  private async endMessage(id: number, before: string[]): Promise<boolean> {
    const info = this.fn('info', id);
    this.o.log(`end msg ${id}`);
    const o = await this.clean.after([], [...before, info].map((n) => this.path(n)), `foop/${id}`);
    if (!o.before.slice(0, before.length).every(gone)) return false;
    if (!gone(o.before[before.length])) {
      this.o.log(`warning: unable to unlink ${info}; will try again later`);
      this.pqdone.insert({ id, dt: now() + SLEEP_SYSFAIL });
    } else if (o.answer !== '+' && o.answer !== '') this.o.log(`warning: qmail-clean unable to clean up foop/${id}`);
    return true;
  }

  private startMessdone(id: number): void {
    if (this.doneBusy.has(id)) return;
    this.doneBusy.add(id);
    void this.messdone(id)
      .catch(() => this.pqdone.insert({ id, dt: now() + SLEEP_SYSFAIL }))
      .finally(() => {
      this.doneBusy.delete(id);
      this.pump();
    });
  }

  // ------------------------------------------------------------ TODO

  private todoScan(): void {
    this.todoWanted = false;
    this.nexttodorun = this.recent + SLEEP_TODO;
    let names: string[];
    try {
      names = readdirSync(`${this.queue}/todo`);
    } catch {
      this.o.log('alert: unable to opendir todo, sleeping...');
      return;
    }
    const queued = new Set(this.todoList);
    for (const n of names) {
      const id = parseId(n);
      if (id !== undefined && !this.todoBusy.has(id) && !queued.has(id)) this.todoList.push(id);
    }
  }

  private todoStart(): void {
    while (!this.exitasap && this.todoBusy.size < TODO_PARALLEL && this.todoList.length > 0) {
      const id = this.todoList.shift()!;
      this.todoBusy.add(id);
      void preprocess(
        { queue: this.queue, split: this.o.split, maps: this.ctl.maps, log: this.o.log, clean: (fds, n) => this.clean.after(fds, [], n) },
        id,
      )
        .catch(() => undefined)
        .then((chans) => {
        this.todoBusy.delete(id);
        if (chans) {
          const dt = now();
          for (const c of [0, 1]) if (chans[c]) this.pqchan[c].insert({ id, dt });
          if (!chans[0] && !chans[1]) this.pqdone.insert({ id, dt });
        }
        this.pump();
      });
    }
  }

  // ------------------------------------------------------------ CLEANUP

  /** The 36-hour sweep of mess/: files with no info/ and no todo/ left by a crashed qmail-queue. */
  private async cleanup(): Promise<void> {
    for (let s = 0; s < this.o.split && !this.exitasap; s++) {
      let ids: number[];
      try {
        ids = readSubdir(this.queue, 'mess', s);
      } catch {
        continue;
      }
      for (const id of ids) {
        if (this.exitasap || !this.clean.alive) return;
        try {
          if (now() <= statSync(this.path(this.fn('mess', id))).atimeMs / 1000 + OSSIFIED) continue;
        } catch {
          continue;
        }
        const gone = (name: string): boolean => {
          try {
            statSync(this.path(name));
            return false;
          } catch (e) {
            return errCode(e) === 'ENOENT';
          }
        };
        if (!gone(this.fn('info', id)) || !gone(this.fn('todo', id))) continue;
        const ch = await this.clean.request(`foop/${id}`);
        if (ch !== '+' && ch !== '') this.o.log(`warning: qmail-clean unable to clean up foop/${id}`);
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  // ------------------------------------------------------------ MAIN LOOP

  /** Do whatever is due now, then arm the timer for the next due time. */
  pump(): void {
    if (this.finished) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.step();
      } while (this.pumpAgain && !this.finished);
    } finally {
      this.pumping = false;
    }
  }

  private step(): void {
    this.recent = now();
    if (this.runasap) {
      this.runasap = false;
      this.pqrun();
    }
    if (this.readasap) {
      this.readasap = false;
      const m = rereadMaps(this.o.home, this.ctl.maps);
      if (typeof m === 'string') this.o.log(`alert: unable to reread control/${m}`);
      else this.ctl = { ...this.ctl, maps: m };
    }
    if (this.exitasap) {
      if (this.delCanexit() && this.ops === 0 && this.todoBusy.size === 0 && this.doneBusy.size === 0 && this.clean.pending === 0) this.finish();
      return;
    }
    for (let progress = true; progress; ) {
      progress = false;
      for (const c of [0, 1]) if (this.passDoChan(c)) progress = true;
      const pf = this.pqfail.min();
      if (pf && pf.dt <= this.recent) {
        this.pqfail.delmin();
        this.pqadd(pf.id);
        progress = true;
      }
      const pd = this.pqdone.min();
      if (pd && pd.dt <= this.recent) {
        this.pqdone.delmin();
        this.startMessdone(pd.id);
        progress = true;
      }
    }
    // as qmail-send's open tododir: a new scan only after the last one's entries are all taken
    if ((this.todoWanted || this.recent >= this.nexttodorun) && this.todoList.length === 0) this.todoScan();
    this.todoStart();
    if (!this.cleanupRunning && this.recent >= this.cleanuptime) {
      this.cleanupRunning = true;
      void this.cleanup().finally(() => {
        this.cleanupRunning = false;
        this.cleanuptime = now() + SLEEP_CLEANUP;
      });
    }
    this.arm();
  }

  private arm(): void {
    let wakeup = Math.min(this.nexttodorun, this.cleanupRunning ? Infinity : this.cleanuptime);
    if (this.jobAvail()) for (const c of [0, 1]) if (!this.pass[c]) wakeup = Math.min(wakeup, this.pqchan[c].min()?.dt ?? Infinity);
    wakeup = Math.min(wakeup, this.pqfail.min()?.dt ?? Infinity, this.pqdone.min()?.dt ?? Infinity);
    if (wakeup === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = wakeup;
    const ms = Math.max(0, Math.min(wakeup * 1000 - Date.now() + 5, 86400_000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, ms);
  }

  private finish(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.pqfinish();
    this.o.log('status: exiting');
    this.trigger?.destroy();
    for (const ch of this.chans) ch.close();
    this.clean.close();
    this.o.onExit();
  }
}
