/**
 * svdir: helpers for the programs that look into a service directory without
 * changing the process's cwd (svc, svok, svstat take several dirs relative to
 * the original cwd).
 */
import { fs } from './nodefs.ts';

/**
 * Throw the error chdir(dir) would give: ENOENT, ENOTDIR, EACCES (no search
 * permission). Used so messages read `unable to chdir to DIR: ...`.
 */
export function checkDir(dir: string): void {
  const st = fs.statSync(dir);
  if (!st.isDirectory()) {
    const e = new Error(`not a directory: ${dir}`) as NodeJS.ErrnoException;
    e.code = 'ENOTDIR';
    throw e;
  }
  fs.accessSync(dir, fs.constants.X_OK);
}
