/**
 * send/bounce: qmail-send's bounce messages in QSBMF, the qmail-send bounce
 * message format (qmail-send.c's addbounce/injectbounce; the texts are
 * notqmail's, byte for byte).
 *
 * While a message is delivered, each permanent failure appends a paragraph
 * to queue/bounce/N (bounceParagraph):
 *
 *     <recipient>:\n
 *     report text, newline-terminated, with each empty line's `\n` as `/`\n
 *     \n
 *
 * When every recipient is done, the bounce is injected (bounceMessage):
 * a single bounce to the envelope sender (envelope sender empty), or, when
 * the sender was empty, a double bounce to doublebounceto@doublebouncehost
 * (envelope sender `#@[]`); a failed double bounce (sender `#@[]`) is
 * discarded, the "triple bounce". The message is
 *
 *     Date: D Mon YYYY HH:MM:SS -0000
 *     From: bouncefrom@bouncehost
 *     To: recipient
 *     Subject: failure notice
 *
 *     Hi. This is the qmail-send program at bouncehost.
 *     (the single or double bounce sentences)
 *     (the paragraphs of bounce/N)
 *     --- Below this line is a copy of the message.      (or: the original bounce.)
 *
 *     Return-Path: <sender>
 *     (the queued message, Received line included)
 *
 * Strings are latin1 (one char a byte).
 */
import { date822fmt } from '../qmaildate.ts';
import { quote, quote2 } from '../local/quote.ts';

/** One failure's paragraph for bounce/N (addbounce). `recip` as the sender knew it (stripVdomPrepend). */
export function bounceParagraph(recip: string, report: string): string {
  let t = `<${recip.replace(/\n/g, '_')}>:\n${report}`;
  if (report !== '' && !report.endsWith('\n')) t += '\n';
  const a = t.split('');
  for (let pos = a.length - 2; pos > 0; pos--) if (a[pos] === '\n' && a[pos - 1] === '\n') a[pos] = '/';
  return a.join('') + '\n';
}

/** What to inject for a finished message with failures, or 'discard' for a triple bounce. */
export interface BouncePlan {
  /** envelope sender of the bounce: '' (single) or '#@[]' (double) */
  sender: string;
  /** envelope recipient: the original sender, or doublebounceto@doublebouncehost */
  recip: string;
  /** true for a double bounce */
  double: boolean;
}

/**
 * Decide what a message's failures turn into. `sender` is info/N's sender;
 * a VERP sender `owner-@host-@[]` bounces to `owner-@host`.
 */
export function bouncePlan(sender: string, doublebounceto: string): BouncePlan | 'discard' {
  let s = sender;
  if (s.length >= 4 && s.endsWith('-@[]')) s = s.slice(0, -4);
  if (s === '#@[]') return 'discard';
  if (s !== '') return { sender: '', recip: s, double: false };
  return { sender: '#@[]', recip: doublebounceto, double: true };
}

/** The part of the bounce before the copied message: headers, text, paragraphs, separator, Return-Path. */
export function bounceHead(plan: BouncePlan, origSender: string, bouncefrom: string, bouncehost: string, paragraphs: string, now: number): string {
  let s = origSender;
  if (s.length >= 4 && s.endsWith('-@[]')) s = s.slice(0, -4);
  const intro = plan.double
    ? '.\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n'
    : ".\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n";
  return (
    `Date: ${date822fmt(now)}\n` +
    `From: ${quote(bouncefrom)}@${bouncehost}\n` +
    `To: ${quote2(plan.recip)}\n` +
    'Subject: failure notice\n' +
    '\n' +
    `Hi. This is the qmail-send program at ${bouncehost}` +
    intro +
    paragraphs +
    (plan.double ? '--- Below this line is the original bounce.\n\n' : '--- Below this line is a copy of the message.\n\n') +
    `Return-Path: <${quote2(s)}>\n`
  );
}
