/**
 * local/deliver: qmail-local(8) as a library function. One call delivers
 * one message to one local address as dot-qmail(5) says, with the texts
 * and exit codes of qmail-local, and returns what qmail-local would have
 * written on fds 1/2 and its exit code. qmail-local's main and
 * qmail-lspawn's in-process path both call it.
 *
 * Steps (qmail-local.c's main, in order):
 *  1. homedir must be absolute (else usage, 100); it must be stat-able
 *     ("Unable to switch to H: E. (#4.3.0)"; "Unable to stat home
 *     directory"), not writable by the bits in `patrn` (default 002:
 *     "Uh-oh: home directory is writable. (#4.7.0)"), and not sticky
 *     ("Home directory is sticky: user is editing his .qmail file.
 *     (#4.2.1)"; with -n only a warning). All 111.
 *  2. The qmail-command(8) environment (commandEnv()).
 *  3. Unless -n: a header line equal to our Delivered-To line means a
 *     loop: "This message is looping: it already has my Delivered-To
 *     line. (#5.4.6)" (100).
 *  4. The .qmail file (dotqmail.ts: search with the -default cascade,
 *     writable -> "Uh-oh: .qmail file is writable. (#4.7.0)", unreadable ->
 *     "Unable to open F: E. (#4.3.0)"). None found and dash non-empty:
 *     "Sorry, no mailbox here by that name. (#5.1.1)" (100). None, or an
 *     empty one, with an empty dash: the default delivery `aliasempty`.
 *  5. NEWSENDER: the sender, or, when .qmail-EXT-owner exists (and the
 *     sender is neither <> nor #@[]), LOCAL-owner@HOST, or with
 *     .qmail-EXT-owner-default too the VERP form LOCAL-owner-@HOST-@[].
 *  6. Each line in turn (dotqmail.parseLines): mbox, maildir, program
 *     deliveries at once, forwards collected; a program's 99 stops the
 *     loop; a hard/soft failure ends qmail-local (100/111) at once. Then
 *     all forwards as ONE new message (Delivered-To line + message) from
 *     NEWSENDER through the queue (queue/client.submitMessage): D reply
 *     -> "Unable to forward message: TEXT." (100), Z -> same text (111).
 *  7. `did F+W+P\n` (file, forward, program counts) and `qp N\n` when a
 *     forward was queued; exit 0.
 *
 * Paths in a .qmail file are relative to homedir (qmail-local chdirs
 * there; this library resolves them instead, so it can run in-process);
 * texts name them as written. Strings are latin1 (one char a byte).
 */
import { accessSync, closeSync, constants, statSync } from 'node:fs';
import { errstr } from '../errstr.ts';
import { maildirDeliver } from '../deliver/maildir.ts';
import { mboxDeliver } from '../deliver/mbox.ts';
import { submitMessage } from '../queue/client.ts';
import { envelopeBytes } from '../queue/envelope.ts';
import { commandEnv, type DeliveryLines } from './commandenv.ts';
import { ownerProbe, parseLines, qmeSearch, DotQmailError } from './dotqmail.ts';
import type { Message } from './message.ts';
import { nativeString, programOutcome, runProgram } from './program.ts';

/** qmail-local's eight arguments (latin1 strings). */
export interface LocalArgs {
  user: string;
  homedir: string;
  local: string;
  dash: string;
  ext: string;
  host: string;
  sender: string;
  /** the default delivery instructions, used when the .qmail file is missing or empty */
  aliasempty: string;
}

/** How to run: -n, the mode mask, the environment, the queue. */
export interface LocalOptions {
  /** false for -n: print the instructions instead of following them */
  doit?: boolean;
  /** conf-patrn: mode bits not allowed on homedir and .qmail (default 0o002) */
  patrn?: number;
  /** the inherited environment the qmail-command variables are added to */
  env?: Record<string, string | undefined>;
  /** the qmail home for forwards (queue/client.submitMessage) */
  qmailhome: string;
  /** delivery time in seconds (From_ line, UFLINE); default now */
  now?: number;
}

/** qmail-local's exit code (0, 100, 111) and everything it wrote on fds 1/2. */
export interface LocalResult {
  code: number;
  /** fds 1 and 2 together, as qmail-lspawn reads them (latin1) */
  output: string;
  /** the same text in pieces, each with the fd qmail-local writes it to (program output: 1) */
  parts: Array<[1 | 2, string]>;
}

/** Collects output pieces. */
class Out {
  readonly parts: Array<[1 | 2, string]> = [];
  push(text: string, fd: 1 | 2 = 1): void {
    if (text !== '') this.parts.push([fd, text]);
  }
  result(code: number): LocalResult {
    return { code, output: this.parts.map((p) => p[1]).join(''), parts: this.parts };
  }
}

/** Internal: leave with a code; `text` gets a `\n`. */
class Die {
  readonly code: number;
  readonly text: string;
  constructor(code: number, text: string) {
    this.code = code;
    this.text = text;
  }
}

const USAGE = 'qmail-local: usage: qmail-local [ -nN ] user homedir local dash ext domain sender aliasempty';

/** Deliver `message` for `a` (see module comment). Never throws for delivery problems. */
export async function localDeliver(a: LocalArgs, message: Message, opts: LocalOptions): Promise<LocalResult> {
  const out = new Out();
  try {
    return out.result(await run(a, message, opts, out));
  } catch (e) {
    if (e instanceof Die) {
      out.push(e.text + '\n', 2);
      return out.result(e.code);
    }
    if (e instanceof DotQmailError) {
      out.push(e.text + '\n', 2);
      return out.result(111);
    }
    out.push(`Unable to read message: ${errstr(e)}. (#4.3.0)\n`, 2);
    return out.result(111);
  }
}

/** The usage line qmail-local prints (with exit 100). */
export const localUsage = USAGE;

/**
 * Add the homedir to a .qmail path (`./x` and `/x` as qmail-local opens
 * them after chdir(homedir)), as a string Node turns back into the bytes.
 */
function resolveIn(homedir: string, p: string): string {
  return nativeString(p[0] === '/' ? p : `${homedir}/${p}`);
}

async function run(a: LocalArgs, message: Message, opts: LocalOptions, out: Out): Promise<number> {
  const doit = opts.doit ?? true;
  const patrn = opts.patrn ?? 0o002;
  if (a.homedir[0] !== '/') throw new Die(100, USAGE);
  const home = Buffer.from(a.homedir, 'latin1');
  let st;
  try {
    st = statSync(home);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(home, constants.X_OK); // what qmail-local's chdir(homedir) needs
  } catch (e) {
    throw new Die(111, `Unable to switch to ${a.homedir}: ${errstr(e)}. (#4.3.0)`);
  }
  if (st.mode & patrn) throw new Die(111, 'Uh-oh: home directory is writable. (#4.7.0)');
  if (st.mode & 0o1000) {
    if (doit) throw new Die(111, 'Home directory is sticky: user is editing his .qmail file. (#4.2.1)');
    out.push('Warning: home directory is sticky.\n', 2);
  }

  const starttime = Math.floor(opts.now ?? Date.now() / 1000);
  const lines: DeliveryLines = commandEnv(a, starttime);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  Object.assign(env, lines.env);

  if (doit) {
    const dt = Buffer.from(lines.dtline, 'latin1');
    for (const l of await message.headerLines()) {
      if (l.equals(dt)) throw new Die(100, 'This message is looping: it already has my Delivered-To line. (#5.4.6)');
    }
  }

  const found = qmeSearch(a.homedir, a.dash, lines.safeext, a.ext, patrn);
  if (found.defaultPart !== undefined) env.DEFAULT = found.defaultPart;
  if (!found.exists && a.dash !== '') throw new Die(100, 'Sorry, no mailbox here by that name. (#5.1.1)');

  let ueo = a.sender;
  if (a.sender !== '' && a.sender !== '#@[]' && ownerProbe(a.homedir, a.dash, lines.safeext, '-owner')) {
    ueo = ownerProbe(a.homedir, a.dash, lines.safeext, '-owner-default') ? `${a.local}-owner-@${a.host}-@[]` : `${a.local}-owner@${a.host}`;
  }
  env.NEWSENDER = ueo;

  let text = found.text ?? '';
  let forwardOnly = found.forwardOnly;
  if (text.length === 0) {
    text = a.aliasempty;
    forwardOnly = false;
  }

  const count = { file: 0, forward: 0, program: 0 };
  const recips: string[] = [];
  const prefix = Buffer.from(lines.rpline + lines.dtline, 'latin1');
  for (const ins of parseLines(text)) {
    if (ins.kind === 'blankfirst') throw new Die(111, 'Uh-oh: first line of .qmail file is blank. (#4.2.1)');
    if (ins.kind === 'listmode') {
      forwardOnly = true;
      continue;
    }
    if (ins.kind === 'maildir' || ins.kind === 'mbox') {
      count.file++;
      if (forwardOnly) throw new Die(111, 'Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)');
      if (!doit) {
        out.push(`${ins.kind} ${ins.arg}\n`);
        continue;
      }
      const path = resolveIn(a.homedir, ins.arg);
      const src = message.source();
      try {
        if (ins.kind === 'maildir') {
          const r = await maildirDeliver(path, src.data, { prefix });
          if (!r.ok) throw new Die(111, r.text);
        } else {
          const r = await mboxDeliver(path, src.data, { sender: Buffer.from(a.sender, 'latin1'), prefix, now: starttime });
          if (!r.ok) throw new Die(111, r.text.split(path).join(ins.arg));
        }
      } finally {
        src.close();
      }
    } else if (ins.kind === 'program') {
      count.program++;
      if (forwardOnly) throw new Die(111, 'Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)');
      if (!doit) {
        out.push(`program ${ins.arg}\n`);
        continue;
      }
      let fd: number;
      try {
        fd = message.openFd();
      } catch {
        throw new Die(111, 'Unable to rewind message. (#4.3.0)');
      }
      let r;
      try {
        r = await runProgram(ins.arg, a.homedir, env, fd);
      } finally {
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
      }
      out.push(r.output);
      if (r.spawnError !== undefined) throw new Die(111, `Unable to fork: ${errstr(r.spawnError)}. (#4.3.0)`);
      if (r.code === undefined) throw new Die(111, 'Aack, child crashed. (#4.3.0)');
      const o = programOutcome(r.code);
      if (o === 'hard') return 100;
      if (o === 'soft') return 111;
      if (o === 'stop') break;
    } else if (ins.kind === 'forward') {
      count.forward++;
      if (!doit) out.push(`forward ${ins.arg}\n`);
      else recips.push(ins.arg);
    }
  }

  let qp = 0;
  if (recips.length > 0 && doit) {
    const body = await message.readAll();
    const r = await submitMessage(
      opts.env ?? {},
      { home: opts.qmailhome },
      Buffer.concat([Buffer.from(lines.dtline, 'latin1'), body]),
      envelopeBytes(Buffer.from(ueo, 'latin1'), recips.map((x) => Buffer.from(x, 'latin1'))),
    );
    if (r.reply !== '') throw new Die(r.reply[0] === 'D' ? 100 : 111, `Unable to forward message: ${r.reply.slice(1)}.`);
    qp = process.pid; // qmail prints its qmail-queue child's pid; ours may run in-process
  }
  out.push(`did ${count.file}+${count.forward}+${count.program}\n`);
  if (qp) out.push(`qp ${qp}\n`);
  return 0;
}
