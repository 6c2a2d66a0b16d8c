/**
 * svdir: helpers for the programs that look into a service directory without
 * changing the process's cwd (svc, svok, svstat take several dirs relative to
 * the original cwd).
 */
import { accessSync, constants, statSync } from 'node:fs';

/**
 * Throw the error chdir(dir) would give: ENOENT, ENOTDIR, EACCES (no search
 * permission). Used so messages read `unable to chdir to DIR: ...`.
 */
export function checkDir(dir: string): void {
  const st = statSync(dir);
  if (!st.isDirectory()) {
    const e = new Error(`not a directory: ${dir}`) as NodeJS.ErrnoException;
    e.code = 'ENOTDIR';
    throw e;
  }
  accessSync(dir, constants.X_OK);
}
