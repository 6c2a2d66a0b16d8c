/**
 * inject/rewrite: how qmail-inject completes an address (qmail-header(5),
 * "ADDRESS REWRITING"; the order of qmail-inject.c's rwgeneric). Addresses
 * are token arrays REVERSED (last token first, as token822.addrlist hands
 * them over) and are edited in place:
 *
 *  1. `<>` and `<x@[]>` (empty literal host) stay as they are;
 *  2. a source route `@a,@b:user@host` loses everything up to its `:`;
 *  3. a trailing `.`, then a trailing `@`, is dropped (`<.>`, `<@>` -> `<>`);
 *  4. an address without `@` gets `@defaulthost`;
 *  5. a host ending in `+` loses the `+` and gets `.plusdomain`;
 *  6. a host without a dot (and not a `[literal]`) gets `.defaultdomain`.
 */
import { parse, unquote, T, type Token } from './token822.ts';

/** The three completions (already tokenized: `@defaulthost`, `.defaultdomain`, `.plusdomain`). */
export interface Completions {
  defaulthost: Token[];
  defaultdomain: Token[];
  plusdomain: Token[];
}

/**
 * Tokenize a completion: prefix (`@` or `.`) + value. Returns null when the
 * value does not tokenize (qmail-inject then prints `unable to parse this line`).
 */
export function completion(prefix: string, value: string): Token[] | null {
  return parse(prefix + value);
}

/** Put the reversed copy of what in front of addr (appending it in normal order). */
function prepend(addr: Token[], what: Token[]): void {
  const rev: Token[] = [];
  for (let i = what.length - 1; i >= 0; i--) rev.push({ ...what[i] });
  addr.unshift(...rev);
}

/** Rewrite a reversed address in place (rwgeneric). */
export function rewriteAddress(addr: Token[], c: Completions): void {
  if (!addr.length) return;
  if (addr.length >= 2 && addr[1].type === T.AT && addr[0].type === T.LITERAL && addr[0].s === '') return;
  if (addr[addr.length - 1].type === T.AT) {
    let len = addr.length;
    while (len) if (addr[--len].type === T.COLON) break;
    addr.length = len;
  }
  if (!addr.length) return;
  if (addr[0].type === T.DOT) addr.shift();
  if (!addr.length) return;
  if (addr[0].type === T.AT) addr.shift();
  if (!addr.length) return;
  if (!addr.some((t) => t.type === T.AT)) prepend(addr, c.defaulthost);
  const t0 = addr[0];
  if (t0.type === T.ATOM && t0.s.length && t0.s.endsWith('+')) {
    t0.s = t0.s.slice(0, -1);
    prepend(addr, c.plusdomain);
  }
  for (const t of addr) {
    if (t.type === T.DOT) return;
    if (t.type === T.AT) break;
  }
  for (const t of addr) {
    if (t.type === T.LITERAL) return;
    if (t.type === T.AT) break;
  }
  prepend(addr, c.defaultdomain);
}

/** The envelope string of a reversed address (token822_unquote in normal order). */
export function envelopeOf(addr: Token[]): string {
  return unquote(addr.slice().reverse());
}
