/**
 * control: qmail's control files, QMAILHOME/control/NAME (qmail-control(5)),
 * read with the semantics of qmail's control.c so every program shares one
 * reader:
 *
 * - readline(NAME): the first line (up to the first `\n`, or the whole file
 *   when it has none), trailing spaces, tabs and newlines removed. No comment
 *   handling: a first line `# x` IS the value. An empty file gives ''.
 * - readfile(NAME, flagme): every line, trailing spaces/tabs removed; empty
 *   lines and lines starting with `#` are skipped (leading blanks are kept, so
 *   ` # x` is a value). A missing file gives [me] when flagme and control/me
 *   exists (qmail-send's `locals`), else undefined.
 * - readint(NAME): readline, then the decimal digits at the start of the line
 *   (scan_ulong). A missing file OR a line not starting with a digit gives
 *   undefined, i.e. the caller's default (qmail treats both alike).
 * - rldef(NAME, flagme, def): readline; when missing, control/me if flagme and
 *   me exists, else def (control_rldef; e.g. bouncehost -> me -> "bouncehost").
 *
 * Missing files (ENOENT) are "not set"; any other error (EACCES, EISDIR, EIO)
 * is thrown with its errno `.code` so the program can say `unable to read
 * controls` and exit 111. Values are decoded latin1 (one char per byte), so
 * byte-exact output (qmail-showctl's `?` for non-printables) stays exact.
 *
 * CONTROL_DEFAULTS is the table of qmail-control(5): every file other than
 * me, its kind and default, and the program that uses it.
 */
import { readFileSync } from 'node:fs';
import { errCode } from './errstr.ts';

/** How a control file is read, and its default when absent (qmail-control(5)). */
export type ControlSpec =
  | { kind: 'line'; me: boolean; def: string; usedBy: string }
  | { kind: 'int'; def: number; usedBy: string }
  | { kind: 'list'; me: boolean; usedBy: string };

/**
 * qmail-control(5)'s table. For `line` files with me = true the default is
 * control/me, and `def` only when me is missing too (the literal names, e.g.
 * "bouncehost", are what qmail itself falls back to).
 */
export const CONTROL_DEFAULTS: Readonly<Record<string, ControlSpec>> = {
  badmailfrom: { kind: 'list', me: false, usedBy: 'qmail-smtpd' },
  bouncefrom: { kind: 'line', me: false, def: 'MAILER-DAEMON', usedBy: 'qmail-send' },
  bouncehost: { kind: 'line', me: true, def: 'bouncehost', usedBy: 'qmail-send' },
  concurrencylocal: { kind: 'int', def: 10, usedBy: 'qmail-send' },
  concurrencyremote: { kind: 'int', def: 20, usedBy: 'qmail-send' },
  defaultdomain: { kind: 'line', me: true, def: 'defaultdomain', usedBy: 'qmail-inject' },
  defaulthost: { kind: 'line', me: true, def: 'defaulthost', usedBy: 'qmail-inject' },
  databytes: { kind: 'int', def: 0, usedBy: 'qmail-smtpd' },
  doublebouncehost: { kind: 'line', me: true, def: 'doublebouncehost', usedBy: 'qmail-send' },
  doublebounceto: { kind: 'line', me: false, def: 'postmaster', usedBy: 'qmail-send' },
  envnoathost: { kind: 'line', me: true, def: 'envnoathost', usedBy: 'qmail-send' },
  helohost: { kind: 'line', me: true, def: 'helohost', usedBy: 'qmail-remote' },
  idhost: { kind: 'line', me: true, def: 'idhost', usedBy: 'qmail-inject' },
  localiphost: { kind: 'line', me: true, def: 'localiphost', usedBy: 'qmail-smtpd' },
  locals: { kind: 'list', me: true, usedBy: 'qmail-send' },
  morercpthosts: { kind: 'list', me: false, usedBy: 'qmail-smtpd' },
  percenthack: { kind: 'list', me: false, usedBy: 'qmail-send' },
  plusdomain: { kind: 'line', me: true, def: 'plusdomain', usedBy: 'qmail-inject' },
  qmqpservers: { kind: 'list', me: false, usedBy: 'qmail-qmqpc' },
  queuelifetime: { kind: 'int', def: 604800, usedBy: 'qmail-send' },
  rcpthosts: { kind: 'list', me: false, usedBy: 'qmail-smtpd' },
  smtpgreeting: { kind: 'line', me: true, def: 'smtpgreeting', usedBy: 'qmail-smtpd' },
  smtproutes: { kind: 'list', me: false, usedBy: 'qmail-remote' },
  timeoutconnect: { kind: 'int', def: 60, usedBy: 'qmail-remote' },
  timeoutremote: { kind: 'int', def: 1200, usedBy: 'qmail-remote' },
  timeoutsmtpd: { kind: 'int', def: 1200, usedBy: 'qmail-smtpd' },
  virtualdomains: { kind: 'list', me: false, usedBy: 'qmail-send' },
};

/** Remove trailing `\n`, space and tab (control.c striptrailingwhitespace). */
export function stripTrailing(s: string): string {
  let n = s.length;
  while (n > 0) {
    const c = s.charCodeAt(n - 1);
    if (c !== 10 && c !== 32 && c !== 9) break;
    n--;
  }
  return s.slice(0, n);
}

/** File contents as latin1, or undefined when it does not exist; other errors throw. */
function slurp(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** First line of a text with qmail's trailing-whitespace rule (control_readline). */
export function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return stripTrailing(nl < 0 ? text : text.slice(0, nl + 1));
}

/** The value lines of a text: stripped, no empty lines, no `#` lines (control_readfile). */
export function valueLines(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) {
    const v = stripTrailing(l);
    if (v !== '' && v[0] !== '#') out.push(v);
  }
  return out;
}

/** Leading decimal digits as a number (scan_ulong), or undefined when there are none. */
export function scanUlong(s: string): number | undefined {
  const m = /^[0-9]+/.exec(s);
  return m ? Number(m[0]) : undefined;
}

/** Reader for one qmail home's control directory (QMAILHOME/control). */
export class Control {
  /** Absolute or relative path of the control directory. */
  readonly dir: string;
  private meCache: string | null | undefined = null;

  /** @param home the qmail home (qmailHome(ctx.env)); files are read from home/control. */
  constructor(home: string) {
    this.dir = `${home}/control`;
  }

  /** Path of control/NAME. */
  path(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** control/me's first line, or undefined when missing (read once; control_init). Throws on read errors. */
  me(): string | undefined {
    if (this.meCache === null) this.meCache = this.readline('me');
    return this.meCache;
  }

  /** First line of control/NAME, or undefined when missing (control_readline). Throws on read errors. */
  readline(name: string): string | undefined {
    const t = slurp(this.path(name));
    return t === undefined ? undefined : firstLine(t);
  }

  /**
   * Value lines of control/NAME (control_readfile), or, when it is missing,
   * [me] if flagme and control/me exists, else undefined. Throws on read errors.
   */
  readfile(name: string, flagme = false): string[] | undefined {
    const t = slurp(this.path(name));
    if (t !== undefined) return valueLines(t);
    if (flagme) {
      const me = this.me();
      if (me !== undefined) return [me];
    }
    return undefined;
  }

  /**
   * control/NAME as an unsigned decimal (control_readint): undefined when the
   * file is missing or its first line does not start with a digit.
   */
  readint(name: string): number | undefined {
    const l = this.readline(name);
    return l === undefined ? undefined : scanUlong(l);
  }

  /** readline, else me (when flagme and me exists), else def (control_rldef). */
  rldef(name: string, flagme: boolean, def: string): string {
    const l = this.readline(name);
    if (l !== undefined) return l;
    if (flagme) {
      const me = this.me();
      if (me !== undefined) return me;
    }
    return def;
  }

  /** A `line` control with its qmail-control(5) default (CONTROL_DEFAULTS). */
  line(name: string): string {
    const s = CONTROL_DEFAULTS[name];
    if (!s || s.kind !== 'line') throw new Error(`control: ${name} is not a one-line control file`);
    return this.rldef(name, s.me, s.def);
  }

  /** An `int` control with its qmail-control(5) default. */
  int(name: string): number {
    const s = CONTROL_DEFAULTS[name];
    if (!s || s.kind !== 'int') throw new Error(`control: ${name} is not a numeric control file`);
    return this.readint(name) ?? s.def;
  }

  /** A `list` control with its qmail-control(5) default ([me] for locals; [] when none). */
  list(name: string): string[] {
    const s = CONTROL_DEFAULTS[name];
    if (!s || s.kind !== 'list') throw new Error(`control: ${name} is not a list control file`);
    return this.readfile(name, s.me) ?? [];
  }
}
