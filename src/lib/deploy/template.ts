/**
 * deploy/template: the checkout's run-directory templates (services/,
 * control/, alias/) and how they are installed: `@NAME@` placeholders
 * replaced by values, files created only when missing so an administrator's
 * edits are never overwritten.
 *
 * Public:
 *   fill(text, vars)                 every `@NAME@` of vars replaced (one pass)
 *   template(rel)                    the text of ROOT/rel
 *   createFile(path, text, mode)     write path unless it exists; true if written
 *   createDir(path, mode)            mkdir unless it exists; true if made
 *   createLink(path, target)         symlink unless path exists; true if made
 * Errors: fs errors with `.code` (never EEXIST).
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, symlinkSync, writeSync } from 'node:fs';
import { ROOT } from '../root.ts';
import { errCode } from '../errstr.ts';

/** Replace each `@NAME@` whose NAME is in vars; other text is kept. */
export function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/@([A-Z0-9_]+)@/g, (m, k: string) => (k in vars ? vars[k] : m));
}

/** The text of a template file of the checkout (path relative to ROOT). */
export function template(rel: string): string {
  return readFileSync(`${ROOT}/${rel}`, 'utf8');
}

/** Create path with text and mode (exclusive create); false when it already exists. */
export function createFile(path: string, text: string | Buffer, mode: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** mkdir path (parents too) unless it exists; true when it was made. */
export function createDir(path: string, mode: number): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  mkdirSync(path, { recursive: true, mode });
  return true;
}

/** Symlink path -> target unless path exists (even as a dangling link); true when made. */
export function createLink(path: string, target: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e;
  }
  symlinkSync(target, path);
  return true;
}
