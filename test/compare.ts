/**
 * compare: run one of our programs and Debian's original with the same
 * arguments, environment, input and working directory, and return both
 * results with the argv0 prefix normalised (`/usr/bin/envdir: illegal option`
 * and `/work/main/bin/envdir: ...` both become `envdir: ...`).
 */
import { execa } from 'execa';
import { ours, theirs } from './helpers.ts';

export interface Result {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface RunOpts {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** wrap: run `sh -c WRAP prog args` where $P is the program path ("$P" "$@") */
  wrap?: string;
}

function norm(s: string, name: string): string {
  return s.replace(new RegExp(`^\\S*/${name}:`, 'gm'), `${name}:`);
}

/** Run the program at path with args; env replaces the whole environment when given. */
export async function run(path: string, name: string, args: string[], o: RunOpts = {}): Promise<Result> {
  const [file, argv] = o.wrap ? ['/bin/sh', ['-c', o.wrap, 'sh', ...args]] : [path, args];
  const r = await execa(file, argv, {
    cwd: o.cwd,
    env: o.wrap ? { ...(o.env ?? process.env), P: path } : o.env,
    extendEnv: o.env === undefined,
    input: o.input ?? '',
    reject: false,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  return { exitCode: r.exitCode, stdout: norm(r.stdout, name), stderr: norm(r.stderr, name) };
}

/** [ours, Debian's] results for the same invocation. */
export async function both(name: string, args: string[], o: RunOpts = {}): Promise<[Result, Result]> {
  return [await run(ours(name), name, args, o), await run(theirs(name)!, name, args, o)];
}
