/**
 * inject/newfield: the header fields qmail-inject makes itself
 * (qmail-inject(8), qmail-header(5); formats of qmail's newfield.c):
 *
 * - `Date: 9 Sep 2001 01:46:40 -0000` (UTC, date822fmt);
 * - `Message-ID: <20010909014640.PID.qmail@idhost>` (UTC time stamp);
 * - the default `From:` as tokens: `"NAME" <user@host>`, or with the c letter
 *   `user@host (NAME)`; the user quoted when quote_need says so; no `@host`
 *   when QMAILHOST/MAILHOST are unset (defaulthost completes it later);
 * - the default envelope sender as a `Return-Path:` field's tokens: the
 *   sender user as a quoted string (with `-TIME.PID` for the m letter and
 *   `-` for r), `@QMAILSHOST` when set.
 * The token forms are printed and re-parsed by the caller, as qmail-inject
 * does, so the addresses get the usual completion (rewrite.ts).
 */
import { quoteNeed } from '../local/quote.ts';
import { date822fmt } from '../qmaildate.ts';
import type { InjectSettings } from './settings.ts';
import { T, type Token } from './token822.ts';

/** `Date: ...\n` for t seconds since the epoch. */
export function dateField(t: number): string {
  return `Date: ${date822fmt(t)}\n`;
}

/** `Message-ID: <YYYYMMDDHHMMSS.PID.qmail@idhost>\n` for t seconds since the epoch. */
export function messageIdField(t: number, pid: number, idhost: string): string {
  const d = new Date(Math.floor(t) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `Message-ID: <${stamp}.${pid}.qmail@${idhost}>\n`;
}

const tok = (type: T, s = ''): Token => ({ type, s });

/** The default From field's tokens (NAME `:` ...). */
export function fromTokens(s: InjectSettings): Token[] {
  const fn = s.fullname;
  const named = fn !== undefined && !s.flagNameComment;
  const t: Token[] = [tok(T.ATOM, 'From'), tok(T.COLON)];
  if (named) t.push(tok(T.QUOTE, fn), tok(T.LEFT));
  t.push(tok(quoteNeed(s.mailuser) ? T.QUOTE : T.ATOM, s.mailuser));
  if (s.mailhost !== undefined) t.push(tok(T.AT), tok(T.ATOM, s.mailhost));
  if (named) t.push(tok(T.RIGHT));
  if (fn !== undefined && s.flagNameComment) t.push(tok(T.COMMENT, fn));
  return t;
}

/** The default sender as a Return-Path field's tokens; now in seconds, pid for the m letter. */
export function returnPathTokens(s: InjectSettings, now: number, pid: number): Token[] {
  let user = s.mailruser;
  if (s.flagHackMess) user += `-${Math.floor(now)}.${pid}`;
  if (s.flagHackRecip) user += '-';
  const t: Token[] = [tok(T.ATOM, 'Return-Path'), tok(T.COLON), tok(T.QUOTE, user)];
  if (s.mailrhost !== undefined) t.push(tok(T.AT), tok(T.ATOM, s.mailrhost));
  return t;
}
