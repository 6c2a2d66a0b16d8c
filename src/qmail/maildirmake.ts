/**
 * maildirmake dir: create a maildir for incoming mail (maildirmake(1)):
 * dir, dir/tmp, dir/new, dir/cur, each mode 0700 (the original runs under
 * umask 077). Exit 100 `maildirmake: usage: maildirmake name` without an
 * argument; 111 `maildirmake: fatal: unable to mkdir DIR: reason`,
 * `unable to chdir to DIR: reason`, `unable to mkdir DIR/tmp: reason` (new,
 * cur likewise). An existing dir is an error (file already exists).
 */
import { accessSync, chmodSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Ctx } from '../lib/program.ts';
import { Exit, die, errline } from '../lib/strerr.ts';

const FATAL = 'maildirmake';

export function main(ctx: Ctx): number {
  const name = ctx.argv[1];
  if (name === undefined) {
    errline('maildirmake: usage: maildirmake name');
    throw new Exit(100);
  }
  const dir = resolve(ctx.cwd, name);
  try {
    mkdirSync(dir, 0o700);
    chmodSync(dir, 0o700);
  } catch (e) {
    die(FATAL, 111, `unable to mkdir ${name}`, e);
  }
  try {
    accessSync(dir, constants.X_OK);
  } catch (e) {
    die(FATAL, 111, `unable to chdir to ${name}`, e);
  }
  for (const sub of ['tmp', 'new', 'cur']) {
    try {
      mkdirSync(`${dir}/${sub}`, 0o700);
      chmodSync(`${dir}/${sub}`, 0o700);
    } catch (e) {
      die(FATAL, 111, `unable to mkdir ${name}/${sub}`, e);
    }
  }
  return 0;
}
