/**
 * local/dotqmail: finding and reading a user's .qmail file (dot-qmail(5),
 * qmail-local.c's qmesearch/qmeexists/qmeox and its line loop; LWQ 4.1).
 *
 * Search, for `.qmail` + DASH + SAFEEXT in the home directory:
 *   "" ""      -> .qmail
 *   "-" ""     -> .qmail-, .qmail-default
 *   "-" "a-b-c" -> .qmail-a-b-c, .qmail-a-b-default, .qmail-a-default, .qmail-default
 * (a trailing `-` also tries `.qmail-a-b--default`...: every prefix ending
 * in `-`, longest first, then the empty one). A candidate counts when
 * open() works and it is a regular file; ENOENT and other permanent errors
 * (ENOTDIR, ELOOP...) pass to the next; a temporary errno, EACCES or EPERM
 * stop with "Unable to open F: E. (#4.3.0)" (111) - an unreadable .qmail
 * defers, it never falls back to a less specific file. A regular file with
 * any `patrn` bit -> "Uh-oh: .qmail file is writable. (#4.7.0)" (111). Its
 * user-execute bit makes it forward-only (as `+list`). When a `default`
 * name matched (or SAFEEXT itself ends in `default`), DEFAULT is the part of
 * EXT that `default` stands for.
 *
 * Lines (parseLines): trailing spaces and tabs are removed; `#` comment;
 * `.` or `/` file delivery (maildir when ending in `/`, else mbox); `|`
 * program; `+list` makes the rest forward-only, other `+` lines are
 * ignored; `&addr` or any other non-empty line a forward; an empty first
 * line is an error, other empty lines are skipped.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { errCode, errstr } from '../errstr.ts';
import { isTempErrno } from '../deliver/errtemp.ts';

/** A deferral found while reading the .qmail file (exit 111 with `text`). */
export class DotQmailError extends Error {
  readonly text: string;
  constructor(text: string) {
    super(text);
    this.text = text;
  }
}

/** Outcome of qmeSearch. */
export interface QmeFound {
  exists: boolean;
  /** file name as qmail-local names it (`.qmail-joe-default`) */
  name?: string;
  /** contents (latin1) when found */
  text?: string;
  /** user-execute bit set: forward-only */
  forwardOnly: boolean;
  /** the value for $DEFAULT, when a default file matched */
  defaultPart?: string;
}

function pathOf(homedir: string, name: string): Buffer {
  return Buffer.from(`${homedir}/${name}`, 'latin1');
}

/** qmeexists(): undefined = look further; else the file's text and x bit. */
function qmeExists(homedir: string, name: string, patrn: number): { text: string; x: boolean } | undefined {
  let fd: number;
  try {
    // most names looked for do not exist: a stat says so without building an ENOENT exception (any other error: open reports it)
    if (statSync(pathOf(homedir, name), { throwIfNoEntry: false }) === undefined) return undefined;
  } catch {
    /* below */
  }
  try {
    fd = openSync(pathOf(homedir, name), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const c = errCode(e);
    if (isTempErrno(c) || c === 'EPERM' || c === 'EACCES') throw new DotQmailError(`Unable to open ${name}: ${errstr(e)}. (#4.3.0)`);
    return undefined;
  }
  try {
    let st;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw new DotQmailError(`Unable to open ${name}: ${errstr(e)}. (#4.3.0)`);
    }
    if (!st.isFile()) return undefined;
    if (st.mode & patrn) throw new DotQmailError('Uh-oh: .qmail file is writable. (#4.7.0)');
    let text: string;
    try {
      text = readFileSync(fd, 'latin1');
    } catch (e) {
      void e;
      throw new DotQmailError('Out of memory. (#4.3.0)'); // slurpclose failing: qmail-local's temp_nomem
    }
    return { text, x: (st.mode & 0o100) !== 0 };
  } finally {
    closeSync(fd);
  }
}

/** qmesearch() (see module comment). `ext` is the original-case extension for DEFAULT. */
export function qmeSearch(homedir: string, dash: string, safeext: string, ext: string, patrn: number): QmeFound {
  const exact = `.qmail${dash}${safeext}`;
  const hit = qmeExists(homedir, exact, patrn);
  if (hit) {
    let defaultPart: string | undefined;
    if (safeext.length >= 7 && safeext.endsWith('default')) {
      const i = safeext.length - 7;
      if (i <= ext.length) defaultPart = ext.slice(i);
    }
    return { exists: true, name: exact, text: hit.text, forwardOnly: hit.x, defaultPart };
  }
  for (let i = safeext.length; i >= 0; i--) {
    if (i === 0 || safeext[i - 1] === '-') {
      const name = `.qmail${dash}${safeext.slice(0, i)}default`;
      const h = qmeExists(homedir, name, patrn);
      if (h) return { exists: true, name, text: h.text, forwardOnly: h.x, defaultPart: i <= ext.length ? ext.slice(i) : undefined };
    }
  }
  return { exists: false, forwardOnly: false };
}

/**
 * qmeox(): does `.qmail DASH SAFEEXT SUFFIX` exist (stat, following links)?
 * A temporary stat error defers.
 */
export function ownerProbe(homedir: string, dash: string, safeext: string, suffix: string): boolean {
  const name = `.qmail${dash}${safeext}${suffix}`;
  try {
    return statSync(pathOf(homedir, name), { throwIfNoEntry: false }) !== undefined;
  } catch (e) {
    if (isTempErrno(errCode(e))) throw new DotQmailError(`Unable to open ${name}: ${errstr(e)}. (#4.3.0)`);
    return false;
  }
}

/** One delivery instruction. */
export type Instruction =
  | { kind: 'maildir' | 'mbox' | 'program' | 'forward'; arg: string }
  | { kind: 'listmode' }
  | { kind: 'blankfirst' };

/** The instructions of a .qmail text (see module comment), in order; comments and ignored lines omitted. */
export function parseLines(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let forwardOnly = false;
  lines.forEach((raw, idx) => {
    const line = raw.replace(/[ \t]+$/, '');
    if (line === '') {
      if (idx === 0) out.push({ kind: 'blankfirst' });
      return;
    }
    switch (line[0]) {
      case '#':
        return;
      case '.':
      case '/':
        out.push({ kind: line.endsWith('/') ? 'maildir' : 'mbox', arg: line });
        return;
      case '|':
        out.push({ kind: 'program', arg: line.slice(1) });
        return;
      case '+':
        if (line === '+list' && !forwardOnly) {
          forwardOnly = true;
          out.push({ kind: 'listmode' });
        }
        return;
      case '&':
        out.push({ kind: 'forward', arg: line.slice(1) });
        return;
      default:
        out.push({ kind: 'forward', arg: line });
    }
  });
  return out;
}
