/**
 * program: the calling convention every program module follows ("programs are
 * functions", ../shared/README.md). A program exports
 *
 *     export async function main(ctx: Ctx): Promise<number>
 *
 * which returns the exit status (or throws Exit from strerr.die()). The real
 * process gets ctx from launch.ts; a long-lived server (tcpserver) may build a
 * ctx for a connection and call another program's main in-process.
 */
import type { Readable, Writable } from 'node:stream';

export interface Ctx {
  /** argv[0] is the name the program was invoked as (as the original sees it). */
  argv: string[];
  /** environment; edits here are what an exec'd child would see */
  env: Record<string, string | undefined>;
  /** the working directory the program should resolve relative names against */
  cwd: string;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export type Main = (ctx: Ctx) => number | Promise<number>;

/** The program's short name from argv[0] (`/usr/bin/svc` -> `svc`). */
export function progName(argv0: string): string {
  const i = argv0.lastIndexOf('/');
  return i < 0 ? argv0 : argv0.slice(i + 1);
}
