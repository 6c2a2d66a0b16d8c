/**
 * envdir dir child: run child with environment variables set from the files
 * in dir (envdir(8), daemontools 0.76; ../shared/FORMATS.md sections 0, 12).
 *
 * Reading rules live in src/lib/envdir.ts; the edits are applied in DJB's
 * order and child is found on the *caller's* PATH (pathexec.ts), then exec'd
 * (same pid). No options are parsed.
 * Exit 111 for everything, usage included: `envdir: usage: envdir dir child`,
 * `envdir: fatal: unable to switch to directory DIR: ...`, `unable to read
 * directory DIR: ...`, `unable to read DIR/NAME: ...`, `unable to run CHILD:
 * ...`.
 */
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { EnvDirError, readEnvDir } from '../src/lib/envdir.ts';
import { execOrDie, type EnvEdit } from '../src/lib/pathexec.ts';

export function main(ctx: Ctx): number {
  const [, dir, ...child] = ctx.argv;
  if (dir === undefined || child.length === 0) usage('envdir', 'dir child', 111);
  let edits: EnvEdit[];
  try {
    edits = readEnvDir(dir, ctx.cwd);
  } catch (e) {
    if (e instanceof EnvDirError) die('envdir', 111, e.text, e.cause);
    throw e;
  }
  return execOrDie('envdir', child, ctx.env, edits);
}
