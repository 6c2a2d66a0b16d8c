/**
 * inject/token822: the RFC 822 tokenizer qmail-inject rewrites header fields
 * with (the behaviour of qmail's token822.c, an interface fact of
 * qmail-header(5): what qmail-inject accepts, and how it re-prints a field).
 * Strings are latin1 (one char a byte).
 *
 * - parse(text): tokens, or null when the text does not tokenize (an
 *   unbalanced `(`, `"` or `[`, or a `)`/`]` outside one). Blanks (SP, TAB,
 *   CR, LF) separate tokens; `\` quotes the next byte; comment nesting
 *   parentheses are dropped from the comment's text; an atom holding a byte
 *   below 32 or above 126, `)`, `]` or `\` becomes a quoted string.
 * - addrlist(tokens, rw): walk a header field's tokens (after NAME and `:`)
 *   right to left, handing each address to rw() REVERSED (last token first);
 *   rw may edit that array in place. Returns the field's new tokens, or null
 *   for a syntax error (rw may already have seen some addresses). Adjacent
 *   words outside `<>` are separate addresses (a comma is inserted).
 * - unparse(tokens, linelen): the printed field, ending in `\n`, with
 *   `,\n  ` breaks between addresses wherever a line would exceed linelen.
 * - unquote(tokens): the address as an envelope string (no quoting,
 *   literals in brackets, comments dropped).
 */

/** Token types (token822.h). */
export const T = {
  ATOM: 1,
  QUOTE: 2,
  LITERAL: 3,
  COMMENT: 4,
  COMMA: 5,
  AT: 6,
  DOT: 7,
  LEFT: 8,
  RIGHT: 9,
  SEMI: 10,
  COLON: 11,
} as const;
/** A token type. */
export type T = (typeof T)[keyof typeof T];

/** One token; `s` is the text of atoms, quoted strings, literals and comments. */
export interface Token {
  type: T;
  s: string;
}

const SPECIAL: Record<string, T> = { '.': T.DOT, ',': T.COMMA, '@': T.AT, '<': T.LEFT, '>': T.RIGHT, ':': T.COLON, ';': T.SEMI };

/** May c continue an atom (token822.c atomok)? */
function atomok(c: string): boolean {
  return !' \t\r\n([\"<>;:@,.'.includes(c);
}

/** Tokenize s (latin1); null when it cannot be tokenized. */
export function parse(s: string): Token[] | null {
  const out: Token[] = [];
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i];
    const sp = SPECIAL[c];
    if (sp !== undefined) {
      out.push({ type: sp, s: '' });
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (c === ')' || c === ']') return null;
    if (c === '(' || c === '"' || c === '[') {
      const type: T = c === '(' ? T.COMMENT : c === '"' ? T.QUOTE : T.LITERAL;
      const close = c === '(' ? ')' : c === '"' ? '"' : ']';
      let level = 1;
      let text = '';
      while (level) {
        if (++i >= n) return null;
        const d = s[i];
        if (c === '(' && d === '(') level++;
        else if (d === close) level--;
        else if (d === '\\') {
          if (++i >= n) return null;
          text += s[i];
        } else text += d;
      }
      out.push({ type, s: text });
      continue;
    }
    let text = '';
    for (;;) {
      if (s[i] === '\\' && ++i >= n) break;
      text += s[i];
      if (++i >= n) break;
      if (!atomok(s[i])) break;
    }
    i--;
    let type: T = T.ATOM;
    for (let j = 0; j < text.length; j++) {
      const k = text.charCodeAt(j);
      if (k < 32 || k > 126 || k === 41 || k === 93 || k === 92) {
        type = T.QUOTE;
        break;
      }
    }
    out.push({ type, s: text });
  }
  return out;
}

function needspace(t1: number, t2: number): boolean {
  if (!t1) return false;
  if (t1 === T.COLON || t1 === T.COMMA) return true;
  if (t2 === T.LEFT) return true;
  const word = (t: number): boolean => t === T.ATOM || t === T.LITERAL || t === T.QUOTE || t === T.COMMENT;
  return word(t1) && word(t2);
}

const PUNCT: Partial<Record<number, number>> = { [T.AT]: 64, [T.DOT]: 46, [T.LEFT]: 60, [T.RIGHT]: 62, [T.SEMI]: 59, [T.COLON]: 58 };

/**
 * Print tokens as a header field (token822_unparse): words are escaped
 * (`"[]()\`, CR, LF get a backslash), quoted strings in `""`, literals in
 * `[]`, comments in `()`. After each comma a line break is kept only where
 * joining would make the line longer than linelen (0: never break).
 * The result always ends in `\n`.
 */
export function unparse(ta: Token[], linelen: number): string {
  const b: number[] = [];
  let lineb = 0;
  let linee = -1;
  let lasttype = 0;
  const nsuw = (): void => {
    const s = b.length;
    b.push(10, 32);
    if (linee >= 0 && (!linelen || s - lineb <= linelen)) {
      b.splice(linee, 2);
      linee = s - 2;
    } else {
      if (linee >= 0) lineb = linee + 1;
      linee = s;
    }
  };
  for (const t of ta) {
    if (needspace(lasttype, t.type)) b.push(32);
    lasttype = t.type;
    if (t.type === T.COMMA) {
      b.push(44);
      nsuw();
      continue;
    }
    const p = PUNCT[t.type];
    if (p !== undefined) {
      b.push(p);
      continue;
    }
    if (t.type === T.QUOTE) b.push(34);
    else if (t.type === T.LITERAL) b.push(91);
    else if (t.type === T.COMMENT) b.push(40);
    for (let j = 0; j < t.s.length; j++) {
      const ch = t.s.charCodeAt(j) & 255;
      if (ch === 34 || ch === 91 || ch === 93 || ch === 40 || ch === 41 || ch === 92 || ch === 13 || ch === 10) b.push(92);
      b.push(ch);
    }
    if (t.type === T.QUOTE) b.push(34);
    else if (t.type === T.LITERAL) b.push(93);
    else if (t.type === T.COMMENT) b.push(41);
  }
  nsuw();
  b.pop();
  return Buffer.from(b).toString('latin1');
}

/** The envelope form of an address's tokens (token822_unquote). */
export function unquote(ta: Token[]): string {
  let s = '';
  for (const t of ta) {
    switch (t.type) {
      case T.COMMENT:
        break;
      case T.LITERAL:
        s += `[${t.s}]`;
        break;
      case T.ATOM:
      case T.QUOTE:
        s += t.s;
        break;
      default:
        s += String.fromCharCode(PUNCT[t.type] ?? 44);
    }
  }
  return s;
}

/**
 * Rewrite every address of a header field (token822_addrlist). ta is the
 * whole field (NAME `:` ...); rw gets each address reversed and may edit it.
 */
export function addrlist(ta: Token[], rw: (addr: Token[]) => void): Token[] | null {
  const out: Token[] = [];
  let addr: Token[] = [];
  let ingroup = false;
  let wordok = true;
  const beginning = 2;
  let t = ta.length - 1;
  const got = (): void => {
    rw(addr);
    for (const x of addr) out.push(x);
    addr = [];
  };
  const flush = (): void => {
    if (addr.length) got();
  };
  const flushComma = (): void => {
    if (addr.length) {
      got();
      out.push({ type: T.COMMA, s: '' });
    }
  };
  const addrLeft = (): void => {
    addr.push({ ...ta[t--] });
  };
  const outLeft = (): void => {
    out.push(ta[t--]);
  };
  while (t >= beginning) {
    switch (ta[t].type) {
      case T.SEMI:
        flushComma();
        if (ingroup) return null;
        ingroup = true;
        wordok = true;
        break;
      case T.COLON:
        flush();
        if (!ingroup) return null;
        ingroup = false;
        while (t >= beginning && ta[t].type !== T.COMMA) outLeft();
        if (t >= beginning) outLeft();
        wordok = true;
        continue;
      case T.RIGHT: {
        flushComma();
        outLeft();
        while (t >= beginning && ta[t].type !== T.LEFT) addrLeft();
        got(); // even when empty: <>
        if (t < beginning) return null;
        outLeft();
        for (;;) {
          if (t < beginning) break;
          const ty = ta[t].type;
          if (ty !== T.COMMENT && ty !== T.ATOM && ty !== T.QUOTE && ty !== T.AT && ty !== T.DOT) break;
          outLeft();
        }
        wordok = false;
        continue;
      }
      case T.ATOM:
      case T.QUOTE:
      case T.LITERAL:
        if (!wordok) flushComma();
        wordok = false;
        addrLeft();
        continue;
      case T.COMMENT:
        break;
      case T.COMMA:
        flush();
        wordok = true;
        break;
      default:
        wordok = true;
        addrLeft();
        continue;
    }
    outLeft();
  }
  flush();
  ++t;
  while (t > 0) out.push(ta[--t]);
  out.reverse();
  return out;
}
