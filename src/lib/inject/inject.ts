/**
 * inject/inject: qmail-inject's work as a library (qmail-inject(8),
 * qmail-header(5)), so the program, servers and benchmarks share one code
 * path and an in-process caller pays no process start.
 *
 * prepareMessage() turns the input message into the message qmail-inject
 * queues, plus its envelope:
 *  - recipient arguments (-a/-H/default) are quoted (quote2), tokenized and
 *    completed (rewrite.ts); header recipients (-h/-H/default without
 *    arguments) come from To, Cc, Bcc, Apparently-To, or, when the message
 *    has any Resent- field, from Resent-To, Resent-Cc, Resent-Bcc;
 *  - address fields (Sender, From, Reply-To, To, Cc, Bcc, Apparently-To,
 *    Return-Receipt-To, Errors-To, Return-Path and their Resent- forms) are
 *    re-printed with every address completed, folded at 80 columns; a
 *    recipient field that does not parse is kept as it was, any other one is
 *    fatal (`unable to parse this line:`);
 *  - Bcc, Resent-Bcc, Return-Path and Content-Length are removed;
 *    Return-Path sets the envelope sender unless -f did or QMAILINJECT has s;
 *  - Date, Message-ID (`<YYYYMMDDHHMMSS.PID.qmail@idhost>`), From (from the
 *    environment, settings.ts) are added when missing, and
 *    `Cc: recipient list not shown: ;` when there is no To and no Cc (the
 *    Resent- forms instead for a resent message), plus Mail-Followup-To
 *    (QMAILMFTFILE); these go first, then the input's fields in order;
 *  - the envelope sender is -f, else Return-Path, else QMAILSUSER@QMAILSHOST
 *    (with the m and r VERP letters).
 * With `print` (qmail-inject -n) the message starts with `Return-Path: <sender>`
 * and nothing is queued.
 *
 * injectMessage() does that and queues the result (queue/client.ts:
 * in-process when the queue is writable, else qmail-queue or $QMAILQUEUE).
 * Failures throw InjectError (settings.ts): 100 for bad input or a permanent
 * queue refusal, 111 for temporary ones. Strings are latin1 (one char a byte).
 */
import { quote2 } from '../local/quote.ts';
import { submitMessage } from '../queue/client.ts';
import { H, hfieldKnown, hfieldValid } from './hfield.ts';
import { headerbody } from './headerbody.ts';
import { dateField, fromTokens, messageIdField, returnPathTokens } from './newfield.ts';
import { envelopeOf, rewriteAddress } from './rewrite.ts';
import { InjectError, type InjectSettings } from './settings.ts';
import { addrlist, parse, unparse, type Token } from './token822.ts';

/** Where recipients come from (-a, -h, -A (default), -H). */
export type RecipStrategy = 'default' | 'args' | 'header' | 'both';

/** One injection's input. */
export interface InjectRequest {
  /** the message as read (bytes, or a latin1 string) */
  input: Uint8Array | string;
  /** recipient arguments (latin1) */
  args: string[];
  strategy: RecipStrategy;
  /** -f sender (latin1), already given as typed */
  sender?: string;
  /** starting time, seconds since the epoch (Date, Message-ID, m VERP) */
  now: number;
  /** process id written into Message-ID and the m VERP */
  pid: number;
  /** qmail-inject -n: print (Return-Path line first) instead of queueing */
  print?: boolean;
}

/** What prepareMessage() produces. */
export interface Prepared {
  /** the message's bytes */
  bytes: Buffer;
  /** the same as a latin1 string (decoded on demand) */
  readonly message: string;
  sender: string;
  recipients: string[];
}

const LINELEN = 80;
const parseFail = (line: string): InjectError => new InjectError(100, `unable to parse this line:\n${line}`);

/** Re-print a field through addrlist with rw; null when it does not parse. */
function rewriteField(text: string, rw: (a: Token[]) => void): string | null {
  const toks = parse(text);
  if (!toks) return null;
  const out = addrlist(toks, rw);
  return out ? unparse(out, LINELEN) : null;
}

/** Build the message and envelope (see module comment). Throws InjectError. */
export function prepareMessage(s: InjectSettings, req: InjectRequest): Prepared {
  let sender: string | undefined;
  const reciplist: string[] = [];
  const hrlist: string[] = [];
  const hrrlist: string[] = [];
  const tocclist: string[] = [];
  const seen = new Uint8Array(H.NUM);
  const saved: string[] = [];
  let head = '';
  const body: Buffer[] = [];
  let resent = false;

  const rw = (a: Token[]): void => rewriteAddress(a, s);
  const setreturn = (a: Token[]): void => {
    if (sender === undefined) sender = envelopeOf(a) + (s.flagHackRecip ? '-@[]' : '');
  };
  const rwreturn = (a: Token[]): void => {
    rw(a);
    setreturn(a);
  };
  const rwhr = (a: Token[]): void => {
    rw(a);
    hrlist.push(envelopeOf(a));
  };
  const rwhrr = (a: Token[]): void => {
    rw(a);
    hrrlist.push(envelopeOf(a));
  };
  const rwtocc = (a: Token[]): void => {
    rw(a);
    const e = envelopeOf(a);
    hrlist.push(e);
    tocclist.push(e);
  };

  if (req.sender !== undefined) {
    const q = quote2(req.sender);
    const t = parse(q);
    if (!t) throw parseFail(q);
    t.reverse();
    rw(t);
    sender = envelopeOf(t);
  }

  let strategy = req.strategy;
  if (strategy === 'default') strategy = req.args.length ? 'args' : 'header';
  if (strategy !== 'header') {
    for (const r of req.args) {
      const t = parse(quote2(r));
      if (!t) throw new InjectError(100, `unable to parse address: ${r}\n`);
      t.reverse();
      rw(t);
      reciplist.push(envelopeOf(t));
    }
  }
  const flagrh = strategy !== 'args';

  /** Print generated tokens, re-parse and complete them (as qmail-inject does); fatal when that fails. */
  const generated = (t: Token[], f: (a: Token[]) => void): string => {
    const line = unparse(t, LINELEN);
    const out = rewriteField(line, f);
    if (out === null) throw parseFail(line);
    return out;
  };
  const defaultFrom = (): string => generated(fromTokens(s), rw);

  const field = (h0: string): void => {
    let h = h0;
    const ht = hfieldKnown(h);
    if (s.flagDeleteFrom && ht === H.FROM) return;
    if (s.flagDeleteMessId && ht === H.MESSAGEID) return;
    if (s.flagDeleteSender && ht === H.RETURNPATH) return;
    if (ht) seen[ht] = 1;
    else if (!hfieldValid(h)) throw new InjectError(100, `invalid header field: ${h}`);
    let f: ((a: Token[]) => void) | undefined;
    let mayfail = false;
    switch (ht) {
      case H.TO:
      case H.CC:
        f = rwtocc;
        mayfail = true;
        break;
      case H.BCC:
      case H.APPARENTLYTO:
        f = rwhr;
        mayfail = true;
        break;
      case H.R_TO:
      case H.R_CC:
      case H.R_BCC:
        f = rwhrr;
        mayfail = true;
        break;
      case H.RETURNPATH:
        f = rwreturn;
        break;
      case H.SENDER:
      case H.FROM:
      case H.REPLYTO:
      case H.RETURNRECEIPTTO:
      case H.ERRORSTO:
      case H.R_SENDER:
      case H.R_FROM:
      case H.R_REPLYTO:
        f = rw;
        break;
    }
    if (f) {
      const out = rewriteField(h, f);
      if (out !== null) h = out;
      else if (!mayfail) throw parseFail(h);
    }
    if (ht === H.BCC || ht === H.R_BCC || ht === H.RETURNPATH || ht === H.CONTENTLENGTH) return;
    saved.push(h);
  };

  const done = (): void => {
    resent = !!(seen[H.R_SENDER] || seen[H.R_FROM] || seen[H.R_REPLYTO] || seen[H.R_TO] || seen[H.R_CC] || seen[H.R_BCC] || seen[H.R_DATE] || seen[H.R_MESSAGEID]);
    if (sender === undefined) generated(returnPathTokens(s, req.now, req.pid), rwreturn);
    if (req.print) head += `Return-Path: <${quote2(sender ?? '')}>\n`;
    if (resent) {
      if (!seen[H.R_DATE]) head += 'Resent-' + dateField(req.now);
      if (!seen[H.R_MESSAGEID]) head += 'Resent-' + messageIdField(req.now, req.pid, s.idhost);
      if (!seen[H.R_FROM]) head += 'Resent-' + defaultFrom();
      if (!seen[H.R_TO] && !seen[H.R_CC]) head += 'Resent-Cc: recipient list not shown: ;\n';
    } else {
      if (!seen[H.DATE]) head += dateField(req.now);
      if (!seen[H.MESSAGEID]) head += messageIdField(req.now, req.pid, s.idhost);
      if (!seen[H.FROM]) head += defaultFrom();
      if (!seen[H.TO] && !seen[H.CC]) head += 'Cc: recipient list not shown: ;\n';
      if (s.mft && !seen[H.MAILFOLLOWUPTO] && tocclist.some((a) => s.mft!.has(a.toLowerCase()))) {
        head += 'Mail-Followup-To: ' + tocclist.map(quote2).reverse().join(',\n  ') + '\n';
      }
    }
    head += saved.join('');
  };

  const input = typeof req.input === 'string' ? Buffer.from(req.input, 'latin1') : req.input;
  headerbody(input, { field, done, body: (p) => body.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : (p as Buffer)) });

  const recipients = reciplist.slice();
  if (flagrh) recipients.push(...(resent ? hrrlist : hrlist));
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), ...body]);
  return {
    bytes,
    get message() {
      return bytes.toString('latin1');
    },
    sender: sender ?? '',
    recipients,
  };
}

/** The envelope qmail-queue reads: `F<sender>\0` `T<recip>\0`... `\0` (latin1). */
export function envelopeBytes(sender: string, recipients: string[]): Buffer {
  let e = `F${sender}\0`;
  for (const r of recipients) e += `T${r}\0`;
  return Buffer.from(e + '\0', 'latin1');
}

/** The process a message is injected for, as the kernel names it (SO_PEERCRED). */
export interface Caller {
  uid: number;
  pid: number;
}

/** Result of injectMessage(). */
export interface Injected {
  /** the message as queued or printed */
  bytes: Buffer;
  /** envelope sender */
  sender: string;
  /** envelope recipients, in qmail-inject's order */
  recipients: string[];
  /** print mode: the bytes to print (= bytes) */
  output?: Buffer;
  /** queue message number, when queued in-process */
  id?: number;
}

/**
 * Prepare and queue (or, with req.print, just print-format) one message.
 * env is the caller's environment (QMAILQUEUE); home the qmail home;
 * `caller`, when this process injects for another one (qmail-queued running
 * qmail-inject for a client), the uid and pid the queue records as the
 * injecting process's (default: this process's).
 * Throws InjectError; a queue refusal has qmail_close()'s text
 * (`D` -> 100, `Z` -> 111).
 */
export async function injectMessage(env: Record<string, string | undefined>, home: string, s: InjectSettings, req: InjectRequest, caller?: Caller): Promise<Injected> {
  const p = prepareMessage(s, req);
  const out = { bytes: p.bytes, sender: p.sender, recipients: p.recipients };
  if (req.print) return { ...out, output: p.bytes };
  const r = await submitMessage(env, { home, ...caller }, p.bytes, envelopeBytes(p.sender, p.recipients));
  if (r.reply) throw new InjectError(r.reply[0] === 'D' ? 100 : 111, r.reply.slice(1) + '\n');
  return { ...out, id: r.id };
}
