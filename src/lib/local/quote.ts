/**
 * local/quote: qmail's quote2() (quote.c), how qmail-local writes the
 * envelope sender into `Return-Path: <...>`: the part before the last `@`
 * is put in RFC 822 double quotes (with `\` before CR, LF, `"` and `\`)
 * when it is empty, holds a byte above 127 or outside qmail's atom table,
 * or has a leading, trailing or doubled dot; the `@domain` part is kept as
 * is. The empty sender stays empty. Strings are latin1 (one char a byte).
 */

/** Bytes allowed unquoted (quote.c's ok[] table). */
const OK = new Uint8Array(128);
for (const c of "!#$%&'*+-/0123456789=?ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz{|}~.") OK[c.charCodeAt(0)] = 1;

/** True when the local part s must be quoted (quote_need). */
export function quoteNeed(s: string): boolean {
  if (s.length === 0) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || !OK[c]) return true;
  }
  return s[0] === '.' || s[s.length - 1] === '.' || s.includes('..');
}

/** quote(): s in double quotes when needed. */
export function quote(s: string): string {
  return quoteNeed(s) ? `"${s.replace(/[\r\n"\\]/g, (m) => '\\' + m)}"` : s;
}

/** quote2(): quote the box of `box@domain` (the whole string when no `@`); '' stays ''. */
export function quote2(addr: string): string {
  if (addr === '') return '';
  const j = addr.lastIndexOf('@');
  return j < 0 ? quote(addr) : quote(addr.slice(0, j)) + addr.slice(j);
}
