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
import { Readable, type Writable } from 'node:stream';

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

/**
 * The ctx for running another program's main in-process on this one's
 * descriptors: `argv` and `env` as given, cwd and stdout/stderr from `ctx`.
 * Its stdin is ctx's stdin, with the bytes of `head` (if any) read first.
 * Streams stay lazy: ctx's are touched only when the callee touches its own.
 */
export function subCtx(ctx: Ctx, argv: string[], env: Ctx['env'], head?: Buffer): Ctx {
  let stdin: Readable | undefined;
  const src = (): Readable => {
    if (!head) return ctx.stdin;
    if (!stdin) {
      const inner = ctx.stdin;
      stdin = Readable.from((async function* () {
        yield head;
        for await (const c of inner) yield c as Buffer;
      })());
    }
    return stdin;
  };
  return {
    argv,
    env,
    cwd: ctx.cwd,
    get stdin() {
      return src();
    },
    get stdout() {
      return ctx.stdout;
    },
    get stderr() {
      return ctx.stderr;
    },
  };
}
