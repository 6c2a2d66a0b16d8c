/**
 * spawn/protocol: the byte protocol between qmail-send and its delivery
 * spawners qmail-lspawn / qmail-rspawn (qmail-send.c's comm_write and
 * del_dochan, spawn.c's getcmd, docmd and report; qmail-lspawn(8),
 * qmail-rspawn(8)). Both sides use this module; it does no I/O.
 *
 * The conversation, over two pipes (send -> spawner's fd 0, spawner's
 * fd 1 -> send):
 *
 *  1. Greeting. The spawner's first byte is its concurrency limit (qmail's
 *     conf-spawn, 120; at most 255). qmail-send lowers concurrencylocal /
 *     concurrencyremote to it. No byte (EOF) = "hath the daemon spawn no fire?".
 *  2. Command, send -> spawner, one per delivery:
 *         DELNUM MESSID \0 SENDER \0 RECIPIENT \0
 *     DELNUM is one byte, the delivery slot (0 .. concurrency-1, reused when
 *     the slot's report has come back). MESSID is the message file relative
 *     to queue/mess: `SPLIT/INODE` (e.g. `7/1234567`). SENDER is the envelope
 *     sender as it should be delivered (after qmail-send's VERP rewriting,
 *     verpSender()), RECIPIENT the full address `local@domain` (for the local
 *     channel: qmail-send has already applied virtualdomains, so it is e.g.
 *     `joe-ext@example.com` or `vpref-joe@vdom`).
 *  3. Report, spawner -> send, one per command, in completion order:
 *         DELNUM STATUS TEXT \0
 *     STATUS is `K` (delivered: qmail-send marks done), `Z` (deferral: try
 *     again later), `D` (permanent failure: bounce and mark done). Anything
 *     else is logged as "report mangled, will defer". TEXT is free text
 *     (may hold newlines, never a NUL), at most TRUNCREPORT bytes from
 *     qmail-lspawn (qmail-send itself keeps at most REPORTMAX bytes of a
 *     line). Note the framing quirk kept from qmail-send: a NUL right after
 *     the DELNUM byte (line length 1) does not end a report, so slot 0's
 *     report `\0K...\0` parses correctly.
 *  4. EOF on the command pipe: the spawner finishes the deliveries in
 *     progress, reports them, and exits 0.
 *
 * Spawner-side errors detected before any delivery starts are reported
 * through the same report frame, with qmail's texts (spawnCheck()).
 *
 * All strings here are latin1 ("binary") strings: one char per byte, so
 * 8-bit addresses survive unchanged; Buffers are what goes on the wire.
 *
 * Public functions and classes:
 *   encodeCommand(cmd) -> Buffer          qmail-send side
 *   CommandParser.push(chunk) -> Command[]   spawner side
 *   encodeReport(delnum, status, text) -> Buffer   spawner side
 *   ReportParser.push(chunk) -> Report[]   qmail-send side
 *   checkCommand(cmd, concurrency, inUse) -> Report text | undefined
 *   localReport(exit) -> {status, text}   qmail-lspawn's report() table
 *   verpSender(sender, recip)             qmail-send's senderadd()
 */

/** conf-spawn: the spawners' concurrency limit, sent as the greeting byte. */
export const AUTO_SPAWN = 120;
/** qmail-lspawn's truncreport: longest report text before "Error report too long". */
export const TRUNCREPORT = 3000;
/** qmail-send's REPORTMAX: longest report frame it keeps (delnum + status + text). */
export const REPORTMAX = 10000;
/** The text that replaces the tail of a too-long report (spawn.c). */
export const TRUNCMESS = '\nError report too long, sorry.\n';

/** One delivery request (latin1 strings). */
export interface Command {
  /** delivery slot, 0..255 */
  delnum: number;
  /** message file relative to queue/mess, `SPLIT/INODE` */
  messid: string;
  sender: string;
  recipient: string;
}

/** K = success, Z = deferral (temporary), D = failure (permanent). */
export type Status = 'K' | 'Z' | 'D';

/** One delivery report (latin1 strings). status is the raw byte as a char: see isStatus(). */
export interface Report {
  delnum: number;
  status: string;
  text: string;
}

/** True for the three status letters qmail-send understands. */
export function isStatus(s: string): s is Status {
  return s === 'K' || s === 'Z' || s === 'D';
}

/** The greeting a spawner writes first: one byte, its concurrency limit (<= 255). */
export function encodeGreeting(limit = AUTO_SPAWN): Buffer {
  return Buffer.from([Math.max(0, Math.min(255, limit))]);
}

/** `DELNUM MESSID \0 SENDER \0 RECIPIENT \0` (comm_write). Throws on delnum out of 0..255. */
export function encodeCommand(cmd: Command): Buffer {
  if (!Number.isInteger(cmd.delnum) || cmd.delnum < 0 || cmd.delnum > 255) throw new RangeError(`spawn: delnum ${cmd.delnum} out of range`);
  const body = Buffer.from(`${cmd.messid}\0${cmd.sender}\0${cmd.recipient}\0`, 'latin1');
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = cmd.delnum;
  body.copy(out, 1);
  return out;
}

/**
 * Streaming parser for commands (spawn.c getcmd's four stages); feed it
 * whatever read() returned, in any chunking.
 */
export class CommandParser {
  private stage = 0;
  private delnum = 0;
  private parts: string[] = [];
  private cur: Buffer[] = [];

  /** Consume bytes; returns the commands completed by them, in order. */
  push(chunk: Uint8Array): Command[] {
    const out: Command[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.stage === 0) {
        this.delnum = chunk[i++];
        this.parts = [];
        this.cur = [];
        this.stage = 1;
        continue;
      }
      const z = chunk.indexOf(0, i);
      if (z < 0) {
        this.cur.push(Buffer.from(chunk.subarray(i)));
        break;
      }
      this.cur.push(Buffer.from(chunk.subarray(i, z)));
      this.parts.push(Buffer.concat(this.cur).toString('latin1'));
      this.cur = [];
      i = z + 1;
      if (this.stage === 3) {
        out.push({ delnum: this.delnum, messid: this.parts[0], sender: this.parts[1], recipient: this.parts[2] });
        this.stage = 0;
      } else this.stage++;
    }
    return out;
  }

  /** True between commands (nothing partial buffered). */
  idle(): boolean {
    return this.stage === 0;
  }
}

/**
 * `DELNUM STATUS TEXT \0` (spawn.c's answer). TEXT is cut at its first NUL
 * (as report() does) and, when longer than `trunc` (> 100) bytes, cut to
 * trunc - 35 bytes followed by TRUNCMESS, as qmail-lspawn keeps it short.
 */
export function encodeReport(delnum: number, status: string, text: string, trunc = TRUNCREPORT): Buffer {
  let t = Buffer.from(text, 'latin1');
  const z = t.indexOf(0);
  if (z >= 0) t = t.subarray(0, z);
  if (trunc > 100 && t.length > trunc) t = Buffer.concat([t.subarray(0, trunc - TRUNCMESS.length - 3), Buffer.from(TRUNCMESS)]);
  const out = Buffer.allocUnsafe(t.length + 3);
  out[0] = delnum & 0xff;
  out[1] = status.charCodeAt(0) & 0xff;
  t.copy(out, 2);
  out[out.length - 1] = 0;
  return out;
}

/**
 * Streaming parser for reports (qmail-send's del_dochan): a frame ends at a
 * NUL once it holds more than one byte; frames are cut to REPORTMAX bytes.
 */
export class ReportParser {
  private buf: Buffer[] = [];
  private len = 0;

  /** Consume bytes; returns the reports completed by them, in order. */
  push(chunk: Uint8Array): Report[] {
    const out: Report[] = [];
    let s = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) continue;
      if (this.len + (i - s) + 1 <= 1) continue; // delnum byte 0: not an end
      this.add(chunk.subarray(s, i));
      const frame = Buffer.concat(this.buf);
      this.buf = [];
      this.len = 0;
      s = i + 1;
      out.push({ delnum: frame[0], status: frame.length > 1 ? String.fromCharCode(frame[1]) : '', text: frame.subarray(2).toString('latin1') });
    }
    this.add(chunk.subarray(s));
    return out;
  }

  private add(b: Uint8Array): void {
    const room = REPORTMAX - this.len;
    if (room <= 0 || b.length === 0) return;
    const part = Buffer.from(b.subarray(0, room));
    this.buf.push(part);
    this.len += part.length;
  }
}

/**
 * The checks spawn.c's docmd makes before starting a delivery. Returns the
 * report text (status letter first, e.g. `ZInternal error: delnum in use.
 * (#4.3.5)\n`) when the command must be refused, else undefined. `inUse`
 * tells whether slot delnum is busy.
 */
export function checkCommand(cmd: Command, concurrency: number, inUse: (delnum: number) => boolean): string | undefined {
  if (cmd.delnum >= concurrency) return 'ZInternal error: delnum too big. (#4.3.5)\n';
  if (inUse(cmd.delnum)) return 'ZInternal error: delnum in use. (#4.3.5)\n';
  const m = cmd.messid;
  for (let i = 0; i < m.length; i++) {
    const c = m.charCodeAt(i);
    if ((i === 0 || c !== 0x2f) && (c < 0x30 || c > 0x39)) return 'DInternal error: messid has nonnumerics. (#5.3.5)\n';
  }
  if (m.length > 100) return 'DInternal error: messid too long. (#5.3.5)\n';
  if (m.length === 0) return 'DInternal error: messid too short. (#5.3.5)\n';
  if (cmd.recipient.lastIndexOf('@') < 0) return 'DSorry, address must include host name. (#5.1.3)\n';
  return undefined;
}

/** qlx.h: qmail-lspawn's private exit codes for the delivery child. */
export const QLX = {
  USAGE: 112,
  BUG: 101,
  ROOT: 113,
  NFS: 115,
  NOALIAS: 116,
  CDB: 117,
  SYS: 118,
  NOMEM: 119,
  EXECSOFT: 120,
  EXECPW: 121,
  EXECHARD: 126,
} as const;

const QLX_TEXT: Record<number, string> = {
  [QLX.CDB]: 'ZTrouble reading users/cdb in qmail-lspawn.\n',
  [QLX.NOMEM]: 'ZOut of memory in qmail-lspawn.\n',
  [QLX.SYS]: 'ZTemporary failure in qmail-lspawn.\n',
  [QLX.NOALIAS]: 'ZUnable to find alias user!\n',
  [QLX.ROOT]: 'ZNot allowed to perform deliveries as root.\n',
  [QLX.USAGE]: 'ZInternal qmail-lspawn bug.\n',
  [QLX.NFS]: 'ZNFS failure in qmail-local.\n',
  [QLX.EXECHARD]: 'DUnable to run qmail-local.\n',
  [QLX.EXECSOFT]: 'ZUnable to run qmail-local.\n',
  [QLX.EXECPW]: 'ZUnable to run qmail-getpw.\n',
};

/**
 * qmail-lspawn's report(): a delivery child's exit code (or crash) and its
 * output -> status letter + text. A QLX code replaces the output with
 * lspawn's own text; 111/71/74/75 -> Z, 0 -> K, anything else -> D, each
 * followed by the output up to its first NUL. `crashed` (killed by a
 * signal) -> `Zqmail-local crashed.\n`.
 */
export function localReport(exit: { code: number; crashed?: boolean }, output: string): { status: Status; text: string } {
  if (exit.crashed) return { status: 'Z', text: 'qmail-local crashed.\n' };
  const fixed = QLX_TEXT[exit.code];
  if (fixed) return { status: fixed[0] as Status, text: fixed.slice(1) };
  const z = output.indexOf('\0');
  const text = z < 0 ? output : output.slice(0, z);
  switch (exit.code) {
    case 111:
    case 71:
    case 74:
    case 75:
      return { status: 'Z', text };
    case 0:
      return { status: 'K', text };
    default:
      return { status: 'D', text };
  }
}

/**
 * qmail-send's senderadd(): VERP. A sender ending in `-@[]`
 * (`owner-@host-@[]`) becomes `owner-RECIPBOX=RECIPHOST@host` for each
 * recipient that has an `@`; any other sender is used as is.
 */
export function verpSender(sender: string, recip: string): string {
  const i = sender.length;
  if (i >= 4 && sender.endsWith('-@[]')) {
    let j = sender.lastIndexOf('@', i - 5);
    if (j < 0) j = i - 4; // byte_rchr's "not found" is the length searched
    const k = recip.lastIndexOf('@');
    if (k >= 0 && j + 5 <= i) return `${sender.slice(0, j)}${recip.slice(0, k)}=${recip.slice(k + 1)}@${sender.slice(j + 1, i - 4)}`;
  }
  return sender;
}
