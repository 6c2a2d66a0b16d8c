/**
 * envdir: reading an environment directory as daemontools' envdir does
 * (envdir(8); ../shared/FORMATS.md section 12).
 *
 * Public functions:
 *   readEnvDir(dir, cwd) -> EnvEdit[]   edits for pathexec.applyEnv
 *   envValue(bytes) -> string            one file's value
 *   class EnvDirError                    text = the original's message body
 *
 * Rules: every entry whose name does not start with `.` is read, in readdir
 * order. An empty file removes NAME. Otherwise the value is the bytes up to
 * the first newline, trailing spaces and tabs removed, each NUL turned into a
 * newline. A name that cannot be opened because it does not exist (dangling
 * symlink) reuses the previous entry's buffer, as openreadclose() leaves it:
 * removal if it is the first entry, else the previous value re-processed
 * (which by then ends in the NUL the original appended, so it gains a `\n`,
 * or is cut at the first former NUL).
 *
 * Errors (thrown as EnvDirError; envdir prints `envdir: fatal: TEXT: ERR`,
 * 111): `unable to switch to current directory`, `unable to switch to
 * directory DIR` (the chdir(2) errors), `unable to read directory DIR`,
 * `unable to read DIR/NAME` (e.g. `is a directory` for a subdirectory).
 */
import { accessSync, closeSync, constants, opendirSync, openSync, readFileSync, statSync, type Dir } from 'node:fs';
import { errCode } from './errstr.ts';
import type { EnvEdit } from './pathexec.ts';

/** A failure with the original's message text (without prog and errstr). */
export class EnvDirError extends Error {
  readonly text: string;
  readonly cause: unknown;
  constructor(text: string, cause: unknown) {
    super(text);
    this.text = text;
    this.cause = cause;
  }
}

/** Throws an ENOTDIR error like chdir(2) would. */
function notDir(path: string): never {
  const e = new Error(`ENOTDIR: not a directory, chdir '${path}'`) as NodeJS.ErrnoException;
  e.code = 'ENOTDIR';
  throw e;
}

/**
 * Process one file's bytes: cut at the first `\n`, strip trailing spaces
 * and tabs, NUL -> `\n`. Returns the value (bytes decoded as
 * UTF-8, as Node passes environment strings).
 */
export function envValue(bytes: Uint8Array): string {
  return processed(bytes).toString('utf8');
}

function processed(bytes: Uint8Array): Buffer {
  let n = bytes.indexOf(10);
  if (n < 0) n = bytes.length;
  while (n > 0 && (bytes[n - 1] === 32 || bytes[n - 1] === 9)) n--;
  const out = Buffer.from(bytes.subarray(0, n));
  for (let i = 0; i < n; i++) if (out[i] === 0) out[i] = 10;
  return out;
}

/**
 * Read directory `dir` (relative names against cwd) into queued environment
 * edits, in readdir order. Throws EnvDirError as described above.
 */
export function readEnvDir(dir: string, cwd: string = process.cwd()): EnvEdit[] {
  try {
    closeSync(openSync(cwd, constants.O_RDONLY));
  } catch (e) {
    throw new EnvDirError('unable to switch to current directory', e);
  }
  const path = dir.startsWith('/') ? dir : `${cwd}/${dir}`;
  try {
    if (!statSync(path).isDirectory()) notDir(path);
    accessSync(path, constants.X_OK);
  } catch (e) {
    throw new EnvDirError(`unable to switch to directory ${dir}`, e);
  }
  let d: Dir;
  try {
    d = opendirSync(path);
  } catch (e) {
    throw new EnvDirError(`unable to read directory ${dir}`, e);
  }
  const edits: EnvEdit[] = [];
  // sa: the original's read buffer, kept across entries (see header)
  let sa: Buffer = Buffer.alloc(0);
  try {
    for (;;) {
      let ent;
      try {
        ent = d.readSync();
      } catch (e) {
        throw new EnvDirError(`unable to read directory ${dir}`, e);
      }
      if (ent === null) break;
      const name = ent.name;
      if (name.startsWith('.')) continue;
      try {
        sa = readFileSync(`${path}/${name}`);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw new EnvDirError(`unable to read ${dir}/${name}`, e);
      }
      if (sa.length === 0) {
        edits.push({ name });
        continue;
      }
      const v = processed(sa);
      edits.push({ name, value: v.toString('utf8') });
      sa = Buffer.concat([v, Buffer.from([0])]);
    }
  } finally {
    d.closeSync();
  }
  return edits;
}
