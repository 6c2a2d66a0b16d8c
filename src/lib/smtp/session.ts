/**
 * smtp/session: one qmail-smtpd conversation (qmail-smtpd(8); notqmail's
 * qmail-smtpd.c is the reference for every reply and state change), from
 * the greeting to QUIT, EOF, a timeout or a fatal error.
 *
 * Control flow. Replies gather in SmtpOutput and are flushed after the
 * commands qmail flushes after (DATA, QUIT, HELO, EHLO, HELP, NOOP, VRFY and
 * unknown ones; not MAIL, RCPT, RSET), before every wait for input, and past
 * 8 KB: pipelined MAIL/RCPT batches get their replies in one write (RFC
 * 2920). A command line is read by SmtpInput (a bare LF ends it too, one CR
 * before the LF is dropped, the line is cut at a NUL as C strings are), the
 * verb is the text up to the first space (ASCII case ignored), the argument
 * what follows the spaces after it. States: `seenmail` (after MAIL, cleared
 * by HELO/EHLO/RSET and by DATA) and the recipient list.
 *
 *   HELO/EHLO  250 + greeting (EHLO: PIPELINING, 8BITMIME, SIZE if databytes)
 *   MAIL       addrparse (555), badmailfrom noted (refused at RCPT), SIZE=n
 *              over databytes -> 552 (our extension, with the SIZE keyword)
 *   RCPT       503 MAIL first; 555; 553 badmailfrom; RELAYCLIENT appended,
 *              else rcpthosts (553)
 *   DATA       503 MAIL first / RCPT first; 354; the DATA state machine
 *              (data.ts); >= 100 hops 554; over databytes 552; else the
 *              queue's verdict: `250 ok TIME qp N`, 554 (D) or 451 (Z)
 *   RSET 250 flushed, NOOP 250 ok, VRFY 252, HELP 214, QUIT 221 + greeting,
 *   anything else 502.
 *
 * Beyond the original, each only when its control file exists (else the
 * verb is unknown, 502, and not advertised):
 *   STARTTLS   (control/servercert.pem) `220 ready for tls`, handshake
 *              (tls.ts), buffered plaintext dropped, state reset (RFC 3207);
 *              with SMTPS set non-empty (notqmail's qmail-smtpd(8)): TLS
 *              before the greeting (port 465)
 *   AUTH       (control/checkpassword) PLAIN and LOGIN (auth.ts); success
 *              sets RELAYCLIENT (empty unless the environment had one) for
 *              the rest of the session
 *   RCPT       (control/rcptcheck) 550 for a local recipient without a
 *              mailbox (rcptcheck.ts)
 * The Received field then says `with ESMTPS` / `ESMTPA` / `ESMTPSA` (RFC
 * 3848); otherwise `with SMTP` as qmail.
 *
 * Ends (the session's exit status): QUIT 0; EOF 1; timeoutsmtpd seconds of
 * silence `451 timeout (#4.4.2)` 1; bare LF in DATA `451 See ...` 1; a
 * control file unreadable `421 unable to read controls (#4.3.0)` 1; limits
 * below `421 out of memory (#4.3.0)` 1 (qmail has no limit but memory; under
 * LWQ's softlimit it ends the same way); a write that fails or times out 1.
 *
 * Limits: a command line of at most MAX_LINE bytes; the recipient list at
 * most MAX_RCPTTO bytes. The message is not held: it streams to the queue
 * (feed.ts) from the start of DATA, as qmail-smtpd writes into qmail-queue.
 */
import type { Readable, Writable } from 'node:stream';
import { addrparse, mailSize, type LocalIpHost } from './addrparse.ts';
import { BadMailFrom } from './badmailfrom.ts';
import { DataMachine } from './data.ts';
import { MessageFeed } from './feed.ts';
import { InputTimeout, LineTooLong, SmtpInput } from './input.ts';
import { SmtpOutput, WriteFailed } from './output.ts';
import { asciiLower, RcptHosts } from './rcpthosts.ts';
import { receivedField } from './received.ts';
import { R, accepted, ehlo250, greet220, helo250, qqFailure, quit221 } from './replies.ts';
import { AUTH_R, saslExchange, type AuthVerdict } from './auth.ts';
import { startTls } from './tls.ts';
import { NO_MAILBOX, type RcptCheck } from './rcptcheck.ts';

/** Longest command line accepted, bytes (without CRLF). */
export const MAX_LINE = 65536;
/** Most bytes of recipient addresses per message. */
export const MAX_RCPTTO = 8 << 20;
/** Hop count refused (MAXHOPS). */
export const MAX_HOPS = 100;

/** Everything a session needs to know, read once when it starts. */
export interface SmtpConfig {
  /** control/smtpgreeting, else control/me */
  greeting: string;
  /** localiphost rewriting, when control/localiphost or control/me exists */
  liphost?: LocalIpHost;
  /** timeoutsmtpd, seconds (>= 1) */
  timeout: number;
  rcpthosts: RcptHosts;
  badmailfrom: BadMailFrom;
  /** stored message bytes allowed, 0 = no limit (databytes / DATABYTES) */
  databytes: number;
  /** TCPREMOTEIP or `unknown` */
  remoteIp: string;
  /** TCPLOCALHOST, else TCPLOCALIP, else `unknown` */
  local: string;
  /** TCPREMOTEHOST or `unknown` */
  remoteHost: string;
  /** TCPREMOTEINFO */
  remoteInfo?: string;
  /** RELAYCLIENT (set, possibly empty: relaying allowed, value appended) */
  relayClient?: string;
  /** control/servercert.pem: offer STARTTLS (not in the original) */
  tlsPem?: Buffer;
  /** control/checkpassword's words: offer AUTH checked by this program (not in the original) */
  checkpassword?: string[];
  /** control/rcptcheck exists: refuse recipients without a mailbox (not in the original) */
  rcptcheck?: RcptCheck;
  /** SMTPS non-empty: TLS from the first byte (port 465), with tlsPem */
  smtps?: boolean;
}

/** What the queue made of a message: qmail_close()'s text ('' = queued) and the qp to report. */
export interface QueueVerdict {
  reply: string;
  qp: number;
}

/**
 * Hands one message to the queue: its bytes (the Received field first) come
 * through `message` while the client sends them, ending normally or failing
 * (then nothing may be queued); `envelope` is `F..\0T..\0..\0`. Called at
 * the start of DATA, as qmail_open.
 */
export type QueueFn = (message: MessageFeed, envelope: Buffer) => Promise<QueueVerdict>;

/** Checks a user and password (checkpassword); offering AUTH depends on its presence. */
export type AuthFn = (user: string, pass: string) => Promise<AuthVerdict>;

/** Ends the session with a status after the replies gathered so far. */
class End {
  readonly status: number;
  constructor(status: number) {
    this.status = status;
  }
}

type Handler = (arg: string) => void | Promise<void>;

/** One SMTP conversation on a pair of streams (see the module comment). */
export class SmtpSession {
  private readonly cfg: SmtpConfig;
  private input: SmtpInput;
  private output: SmtpOutput;
  private readonly queue: QueueFn;
  private readonly auth: AuthFn | undefined;
  /** RELAYCLIENT for this session (the environment's, or '' after AUTH) */
  private relayClient: string | undefined;
  private secured = false;
  private authed = false;
  private seenmail = false;
  private flagbarf = false;
  private mailfrom = '';
  private rcptto: string[] = [];
  private rcptBytes = 0;
  private fakehelo: string | undefined;
  private readonly table: Record<string, [Handler, boolean]>;

  /** @param auth when given, AUTH PLAIN/LOGIN is offered and checked with it */
  constructor(cfg: SmtpConfig, stdin: Readable, stdout: Writable, queue: QueueFn, auth?: AuthFn) {
    this.cfg = cfg;
    this.queue = queue;
    this.auth = auth;
    this.relayClient = cfg.relayClient;
    this.output = new SmtpOutput(stdout, cfg.timeout);
    this.input = new SmtpInput(stdin, cfg.timeout, () => this.output.flush());
    this.table = {
      rcpt: [(a) => this.rcpt(a), false],
      mail: [(a) => this.mail(a), false],
      data: [() => this.data(), true],
      quit: [() => this.quit(), true],
      helo: [(a) => this.helo(a), true],
      ehlo: [(a) => this.ehlo(a), true],
      rset: [() => this.rset(), false],
      help: [() => this.out(R.help), true],
      noop: [() => this.out(R.ok), true],
      vrfy: [() => this.out(R.vrfy), true],
    };
    if (cfg.tlsPem) this.table.starttls = [() => this.starttls(), true];
    if (auth) this.table.auth = [(a) => this.authenticate(a), true];
  }

  private out(s: string): void {
    this.output.out(s);
  }

  /** Run the conversation; resolves with the exit status (see the module comment). */
  async run(): Promise<number> {
    let status = 1;
    try {
      if (this.cfg.smtps) await this.handshake();
      this.out(greet220(this.cfg.greeting));
      for (;;) {
        const line = await this.input.line(MAX_LINE);
        if (line === null) break;
        await this.command(line);
      }
    } catch (e) {
      if (e instanceof End) status = e.status;
      else if (e instanceof InputTimeout) this.out(R.timeout);
      else if (e instanceof LineTooLong) this.out(R.nomem);
      else if (!(e instanceof WriteFailed)) throw e;
    }
    try {
      await this.output.flush();
    } catch {
      /* the client is gone */
    }
    this.output.release();
    return status;
  }

  /** Dispatch one command line (commands.c). */
  private async command(raw: Buffer): Promise<void> {
    const nul = raw.indexOf(0);
    const line = (nul >= 0 ? raw.subarray(0, nul) : raw).toString('latin1');
    const sp = line.indexOf(' ');
    const verb = sp < 0 ? line : line.slice(0, sp);
    let arg = sp < 0 ? '' : line.slice(sp);
    let k = 0;
    while (arg[k] === ' ') k++;
    arg = arg.slice(k);
    const entry = this.table[asciiLower(verb)] as [Handler, boolean] | undefined;
    if (!entry) {
      this.out(R.unimpl);
      await this.output.flush();
      return;
    }
    await entry[0](arg);
    if (entry[1] || this.output.pending > 8192) await this.output.flush();
  }

  private dohelo(arg: string): void {
    this.fakehelo = asciiLower(arg) !== asciiLower(this.cfg.remoteHost) ? arg : undefined;
  }

  private helo(arg: string): void {
    this.out(helo250(this.cfg.greeting));
    this.seenmail = false;
    this.dohelo(arg);
  }

  private ehlo(arg: string): void {
    const extra: string[] = [];
    if (this.cfg.tlsPem && !this.secured) extra.push('STARTTLS');
    if (this.auth && !this.authed) extra.push('AUTH LOGIN PLAIN');
    this.out(ehlo250(this.cfg.greeting, this.cfg.databytes, extra));
    this.seenmail = false;
    this.dohelo(arg);
  }

  private rset(): void {
    this.seenmail = false;
    this.out(R.flushed);
  }

  private quit(): never {
    this.out(quit221(this.cfg.greeting));
    throw new End(0);
  }

  private mail(arg: string): void {
    const addr = addrparse(arg, this.cfg.liphost);
    if (addr === undefined) return this.out(R.syntax);
    const size = this.cfg.databytes > 0 ? mailSize(arg) : undefined;
    if (size !== undefined && size > this.cfg.databytes) return this.out(R.toobig);
    this.flagbarf = this.cfg.badmailfrom.bad(addr);
    this.seenmail = true;
    this.rcptto = [];
    this.rcptBytes = 0;
    this.mailfrom = addr;
    this.out(R.ok);
  }

  private rcpt(arg: string): void {
    if (!this.seenmail) return this.out(R.wantmail);
    let addr = addrparse(arg, this.cfg.liphost);
    if (addr === undefined) return this.out(R.syntax);
    if (this.flagbarf) return this.out(R.bmf);
    if (this.relayClient !== undefined) addr += this.relayClient;
    else {
      let ok: boolean;
      try {
        ok = this.cfg.rcpthosts.allowed(addr);
      } catch {
        this.out(R.control);
        throw new End(1);
      }
      if (!ok) return this.out(R.nogateway);
    }
    if (this.cfg.rcptcheck && !this.cfg.rcptcheck.deliverable(addr)) return this.out(NO_MAILBOX);
    this.rcptBytes += addr.length + 2;
    if (this.rcptBytes > MAX_RCPTTO) {
      this.out(R.nomem);
      throw new End(1);
    }
    this.rcptto.push(addr);
    this.out(R.ok);
  }

  private async data(): Promise<void> {
    if (!this.seenmail) return this.out(R.wantmail);
    if (this.rcptto.length === 0) return this.out(R.wantrcpt);
    this.seenmail = false;
    this.out(R.goahead);
    // the 354 goes out before the queue's files are made, so the client's message is on its
    // way meanwhile; a write failure is awaited below, where it ends the session as it would
    const sent = this.output.flush();
    sent.catch(() => undefined);
    const c = this.cfg;
    const received = receivedField({
      protocol: this.secured || this.authed ? `ESMTP${this.secured ? 'S' : ''}${this.authed ? 'A' : ''}` : 'SMTP',
      local: c.local,
      remoteIp: c.remoteIp,
      remoteHost: c.remoteHost,
      remoteInfo: c.remoteInfo,
      helo: this.fakehelo,
      when: Date.now() / 1000,
    });
    let env = `F${this.mailfrom}\0`;
    for (const r of this.rcptto) env += `T${r}\0`;
    env += '\0';
    const feed = new MessageFeed();
    feed.push(Buffer.from(received, 'latin1'));
    // a queue that cannot even start (no pipe, no fork) is qmail_open failing: 451 qqt failure
    const verdict = this.queue(feed, Buffer.from(env, 'latin1'))
      .catch((): QueueVerdict => ({ reply: 'Zqqt failure (#4.3.0)', qp: 0 }))
      .finally(() => feed.abandon());
    const m = new DataMachine(c.databytes, (b) => feed.push(b));
    let ended = false;
    try {
      await sent;
      for (;;) {
        const b = await this.input.next();
        if (b === null) throw new End(1);
        const r = m.feed(b);
        if (m.tooBig) feed.fail();
        if (r.status === 'more') continue;
        if (r.status === 'stray') {
          this.out(R.straynewline);
          throw new End(1);
        }
        this.input.unread(b.subarray(r.used));
        break;
      }
      if (m.hops >= MAX_HOPS) feed.fail();
      else feed.end();
      ended = true;
    } finally {
      if (!ended) {
        feed.fail();
        await verdict;
      }
    }
    const v = await verdict;
    if (m.hops >= MAX_HOPS) return this.out(R.hops);
    if (m.tooBig) return this.out(R.toobig);
    if (v.reply === '') this.out(accepted(Date.now() / 1000, v.qp));
    else this.out(qqFailure(v.reply));
  }

  /** STARTTLS (RFC 3207): 220, handshake, then a fresh session state on the TLS socket. */
  private async starttls(): Promise<void> {
    if (this.secured) return this.out(R.unimpl);
    this.out('220 ready for tls\r\n');
    await this.output.flush();
    await this.handshake();
    this.seenmail = false;
    this.rcptto = [];
    this.rcptBytes = 0;
    this.fakehelo = undefined;
  }

  /** TLS on the connection (tls.ts); buffered plaintext is dropped; failure ends the session. */
  private async handshake(): Promise<void> {
    if (!this.cfg.tlsPem) throw new End(1);
    this.input.close();
    this.output.release();
    let t;
    try {
      t = await startTls(this.input.stream, this.output.stream, this.cfg.tlsPem, this.cfg.timeout);
    } catch {
      throw new End(1);
    }
    this.secured = true;
    this.output = new SmtpOutput(t, this.cfg.timeout);
    this.input = new SmtpInput(t, this.cfg.timeout, () => this.output.flush());
  }

  /** AUTH PLAIN / LOGIN (RFC 4954), checked through checkpassword. */
  private async authenticate(arg: string): Promise<void> {
    if (this.authed) return this.out(AUTH_R.already);
    if (this.seenmail) return this.out(AUTH_R.notInMail);
    const r = await saslExchange(arg, async (prompt) => {
      this.out(prompt);
      await this.output.flush();
      const line = await this.input.line(MAX_LINE);
      if (line === null) throw new End(1);
      return line.toString('latin1');
    });
    if ('reply' in r) return this.out(r.reply);
    const v = await this.auth!(r.user, r.pass);
    if (v === 'ok') {
      this.authed = true;
      if (this.relayClient === undefined) this.relayClient = '';
      return this.out(AUTH_R.ok);
    }
    this.out(v === 'temp' ? AUTH_R.temp : AUTH_R.failed);
  }
}
