/**
 * send/pipes: qmail-send's conversations over the descriptors qmail-start
 * gives it (qmail-send(8)): commands to qmail-lspawn / qmail-rspawn on fds
 * 1 and 3, their reports on fds 2 and 4, requests to qmail-clean on fd 5
 * and its one-byte answers on fd 6. The pipes are read and written through
 * the event loop (never a blocking call), except the spawners' one greeting
 * byte, which qmail-send must have before it can do anything (readGreeting).
 */
import { cleanAfter, gone, pidSweeper, type CleanOutcome } from './clean.ts';
import { syncThenUnlink } from '../fsyncfd.ts';
import { Socket } from 'node:net';
import { readSync } from 'node:fs';
import { encodeCommand, ReportParser, type Command, type Report } from '../spawn/protocol.ts';

/**
 * Read one byte (a spawner's concurrency limit) from fd, waiting for it;
 * undefined at EOF or on an error ("hath the daemon spawn no fire?").
 */
export function readGreeting(fd: number): number | undefined {
  const b = Buffer.alloc(1);
  for (;;) {
    try {
      return readSync(fd, b, 0, 1, null) === 1 ? b[0] : undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EINTR') continue;
      return undefined;
    }
  }
}

/** A pipe descriptor as an event-loop stream. */
function pipeSocket(fd: number, readable: boolean): Socket {
  return new Socket({ fd, readable, writable: !readable, allowHalfOpen: true });
}

/** One delivery channel: commands out, reports in. */
export class SpawnChannel {
  alive = true;
  private readonly out: Socket;
  private readonly inp: Socket;
  private readonly parser = new ReportParser();

  /**
   * @param onReport called for each complete report
   * @param onDied called once when the spawner's pipe closes or fails (spawndied)
   */
  constructor(outFd: number, inFd: number, onReport: (r: Report) => void, onDied: () => void) {
    this.out = pipeSocket(outFd, false);
    this.inp = pipeSocket(inFd, true);
    const died = (): void => {
      if (!this.alive) return;
      this.alive = false;
      onDied();
    };
    this.out.on('error', died);
    this.inp.on('error', died);
    this.inp.on('end', died);
    this.inp.on('data', (chunk: Buffer) => {
      for (const r of this.parser.push(chunk)) onReport(r);
    });
  }

  /** Send one delivery command (comm_write). */
  write(cmd: Command): void {
    if (this.alive) this.out.write(encodeCommand(cmd));
  }

  /** Close the command pipe (the spawner finishes and exits) and stop reading. */
  close(): void {
    this.alive = false;
    this.out.end();
    this.inp.destroy();
  }
}

/**
 * qmail-clean's conversation: one request, one answer byte, in order.
 *
 * `direct` (the queue's directories are this process's own, clean.ts
 * canClean): each request is done here with qmail-clean's own code
 * (cleanAfter: the unlinks on the addon's thread pool, in one job with
 * the fsyncs and unlinks the step needs before them; qmail-clean's pid/
 * sweep on its schedule too), which saves two pipe writes, two reads and
 * four process wake-ups per message; the files removed and their order
 * are the same. qmail-clean still runs, and losing its pipe still ends
 * qmail-send.
 */
export class CleanClient {
  alive = true;
  private readonly out: Socket;
  private readonly inp: Socket;
  private readonly waiting: Array<(ch: string) => void> = [];
  private readonly direct: { queue: string; split: number } | undefined;
  private readonly sweep: () => void;
  private inFlight = 0;

  /** @param onDied called once when qmail-clean's pipe closes or fails (cleandied) */
  constructor(outFd: number, inFd: number, onDied: () => void, direct?: { queue: string; split: number }) {
    this.direct = direct;
    this.sweep = direct ? pidSweeper(direct.queue) : () => undefined;
    this.out = pipeSocket(outFd, false);
    this.inp = pipeSocket(inFd, true);
    const died = (): void => {
      if (!this.alive) return;
      this.alive = false;
      for (const w of this.waiting.splice(0)) w('');
      onDied();
    };
    this.out.on('error', died);
    this.inp.on('error', died);
    this.inp.on('end', died);
    this.inp.on('data', (chunk: Buffer) => {
      for (const b of chunk) this.waiting.shift()?.(String.fromCharCode(b));
    });
  }

  /** Ask qmail-clean to remove `foop/N` or `todo/N`; resolves to `+`, `!`, `x`, or '' when it died. */
  async request(name: string): Promise<string> {
    return (await this.after([], [], name)).answer;
  }

  /**
   * fsync fds and unlink the paths in `before` (in order), then, when all
   * that succeeded, make request `name` (none when undefined): one pool
   * job in all when cleaning directly (clean.ts cleanAfter), else that
   * job (when there is anything to do before) and then the request on the
   * pipe. The answer is '' when qmail-clean died or the request was not
   * made.
   */
  async after(fds: number[], before: string[], name: string | undefined): Promise<CleanOutcome> {
    if (!this.alive) return { fsync: [], before: [], answer: '' };
    this.inFlight++;
    try {
      if (this.direct) {
        const { queue, split } = this.direct;
        if (name !== undefined) this.sweep();
        return await cleanAfter(queue, name, split, fds, before);
      }
      const [fsync, b] = fds.length + before.length > 0 ? await syncThenUnlink(fds, before) : [[], []];
      if (name === undefined || fsync.some((e) => e) || !b.every(gone) || !this.alive) return { fsync, before: b, answer: '' };
      const answer = await new Promise<string>((res) => {
        this.waiting.push(res);
        this.out.write(Buffer.from(`${name}\0`, 'latin1'));
      });
      return { fsync, before: b, answer: answer as CleanOutcome['answer'] };
    } finally {
      this.inFlight--;
    }
  }

  /** Calls of after() (and so requests) not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  close(): void {
    this.alive = false;
    this.out.end();
    this.inp.destroy();
  }
}
