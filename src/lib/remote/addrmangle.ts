/**
 * remote/addrmangle: how qmail-remote writes an envelope address into
 * `MAIL FROM:<...>` / `RCPT TO:<...>` (qmail-remote.c addrmangle): when the
 * address has an `@`, the box before the last `@` is quoted as RFC 821
 * requires (quote.c: double quotes when it is empty, has a byte above 127
 * or outside qmail's atom table, or a leading, trailing or doubled dot) and
 * the host after it is kept; an address without `@` (the empty bounce sender)
 * is written as is. Strings are latin1.
 */
import { quote } from '../local/quote.ts';

/** The SMTP form of an envelope address (see module comment). */
export function addrmangle(addr: string): string {
  const j = addr.lastIndexOf('@');
  if (j < 0) return addr;
  return `${quote(addr.slice(0, j))}@${addr.slice(j + 1)}`;
}
