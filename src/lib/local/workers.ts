/**
 * local/workers: qmail-lspawn's privilege separation when it runs as root,
 * without a Node start per delivery. One worker process per (uid, gid):
 * started as `node launch.js src/lib/local/worker UID GID` (worker.ts),
 * it sets its groups to exactly GID, its gid and uid (prot.c's order), and
 * refuses to go on as uid 0, all before it reads a request; it then runs
 * qmail-local's library for that account's deliveries, concurrently, and
 * exits at EOF on its fd 0. The pool closes a worker's fd 0 after IDLE_MS
 * without deliveries; a worker that dies takes its deliveries with it
 * ("qmail-local crashed", a deferral) and is restarted on the next request.
 *
 * Pipe protocol (both directions length-prefixed, 4-byte big-endian):
 *   request  = LEN JSON{id, args(LocalArgs)} LEN MESSAGE-BYTES
 *   response = LEN JSON{id, code, output}
 * The message bytes travel because the worker cannot open queue/mess
 * (qmailq's, mode 0750) and Node cannot pass descriptors; strings are
 * latin1 inside JSON (lossless).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from '../root.ts';
import type { LocalArgs } from './deliver.ts';
import type { Message } from './message.ts';
import type { Runner } from './spawner.ts';

/** Workers exit after this long without a delivery. */
export const IDLE_MS = 30000;

/** Length-prefixed frame decoder. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Feed bytes; returns the complete frames' payloads. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 4) break;
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      out.push(this.buf.subarray(4, 4 + n));
      this.buf = this.buf.subarray(4 + n);
    }
    return out;
  }
}

/** LEN + payload. */
export function frame(payload: Buffer): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32BE(payload.length, 0);
  return Buffer.concat([h, payload]);
}

type Result = { code: number; crashed?: boolean; output: string };

/** One worker process for one account. */
class Worker implements Runner {
  private child: ChildProcess | undefined;
  private next = 1;
  private readonly waiting = new Map<number, (r: Result) => void>();
  private idle: NodeJS.Timeout | undefined;
  private readonly uid: number;
  private readonly gid: number;
  private readonly env: Record<string, string | undefined>;

  constructor(uid: number, gid: number, env: Record<string, string | undefined>) {
    this.uid = uid;
    this.gid = gid;
    this.env = env;
  }

  private start(): ChildProcess {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', `${ROOT}/dist/src/lib/launch.js`, 'src/lib/local/worker', 'qmail-lspawn-worker', String(this.uid), String(this.gid)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: this.env as NodeJS.ProcessEnv,
      cwd: '/',
    });
    const reader = new FrameReader();
    child.stdout!.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) {
        const m = JSON.parse(f.toString('latin1')) as { id: number; code: number; output: string };
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        done?.({ code: m.code, output: m.output });
      }
      this.arm();
    });
    child.stdin!.on('error', () => undefined);
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = undefined;
      for (const [, done] of this.waiting) done(sig || code === null || code === 0 ? { code: 0, crashed: true, output: '' } : { code, output: '' });
      this.waiting.clear();
    });
    child.on('error', () => undefined);
    return child;
  }

  private arm(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.waiting.size === 0 && this.child) {
      const c = this.child;
      this.idle = setTimeout(() => {
        if (this.waiting.size === 0 && this.child === c) {
          this.child = undefined;
          c.stdin!.end();
        }
      }, IDLE_MS);
      this.idle.unref();
    }
  }

  run(args: LocalArgs, message: Message): Promise<Result> {
    if (!this.child) this.child = this.start();
    if (this.idle) clearTimeout(this.idle);
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      message.readAll().then(
        (b) => this.child?.stdin!.write(Buffer.concat([frame(Buffer.from(JSON.stringify({ id, args }), 'latin1')), frame(b)])),
        () => {
          this.waiting.delete(id);
          resolve({ code: 111, output: 'Unable to read message. (#4.3.0)\n' });
        },
      );
    });
  }

  /** End the worker's input; resolves when it has exited. */
  close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((r) => {
      c.on('exit', () => r());
      c.stdin!.end();
    });
  }
}

/** The workers of one qmail-lspawn. */
export class WorkerPool {
  private readonly workers = new Map<string, Worker>();
  private readonly env: Record<string, string | undefined>;

  /** env: what workers (and so programs) inherit; QMAILPATRN and QMAILHOME are read by the worker from it. */
  constructor(opts: { env: Record<string, string | undefined>; home: string; patrn: number }) {
    this.env = { ...opts.env, QMAILHOME: opts.home, QMAILPATRN: opts.patrn.toString(8).padStart(3, '0') };
  }

  /** The runner for uid/gid (a worker, started on first use). */
  runner(uid: number, gid: number): Runner {
    const key = `${uid}:${gid}`;
    let w = this.workers.get(key);
    if (!w) {
      w = new Worker(uid, gid, this.env);
      this.workers.set(key, w);
    }
    return w;
  }

  /** End every worker (they finish what they have and exit); resolves when all have exited. */
  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.close()));
  }
}
