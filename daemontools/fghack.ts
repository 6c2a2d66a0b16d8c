/**
 * fghack child: anti-backgrounding tool (fghack(8), daemontools 0.76;
 * ../shared/FORMATS.md section 12). Runs child in a new process (Node
 * spawns execchild.ts, which execs child as pathexec.ts finds it) with a pipe's write
 * end and 30 copies of it (the 31 lowest free descriptors),
 * then waits until every copy is closed, so a daemon that forks into the
 * background still keeps fghack (and its supervise) waiting. Then it waits
 * for child and exits with child's exit code.
 * Exit 100: `fghack: usage: fghack child`.
 * Exit 111: `fghack: fatal: unable to create pipe: ...`, `unable to run
 * CHILD: ...`, `wait failed: ...`, `child crashed` (child killed by a signal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readSync } from 'node:fs';
import type { Ctx } from '../src/lib/program.ts';
import { die, usage } from '../src/lib/strerr.ts';
import { errCode } from '../src/lib/errstr.ts';
import { sys } from '../src/lib/native.ts';
import { childArgv } from '../src/lib/execchild.ts';
import { inheritedFds } from '../src/lib/pathexec.ts';

/** Descriptors of the pipe's write end the child gets: the end and its 30 copies, as observed. */
const COPIES = 31;

/**
 * The child's descriptors as the original's fork would leave them: every
 * inherited descriptor at its own number, and COPIES copies of w at the
 * lowest numbers the original process would have had free.
 */
function childFds(w: number): Array<number | 'inherit' | 'ignore'> {
  const stdio: Array<number | 'inherit' | 'ignore'> = ['inherit', 'inherit', 'inherit'];
  const taken = new Set<number>();
  for (const { fd } of inheritedFds()) {
    taken.add(fd);
    if (fd > 2) stdio[fd] = fd;
  }
  let left = COPIES;
  for (let fd = 3; left > 0; fd++) {
    if (taken.has(fd)) continue;
    stdio[fd] = w;
    left--;
  }
  for (let i = 0; i < stdio.length; i++) if (stdio[i] === undefined) stdio[i] = 'ignore';
  return stdio;
}

export async function main(ctx: Ctx): Promise<number> {
  const argv = ctx.argv.slice(1);
  if (argv.length === 0) usage('fghack', 'child');
  let r: number, w: number;
  try {
    [r, w] = sys.pipe();
  } catch (e) {
    die('fghack', 111, 'unable to create pipe', e);
  }
  const [file, args] = childArgv('fghack', argv);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { env: ctx.env, stdio: childFds(w) });
  } catch (e) {
    die('fghack', 111, 'unable to fork', e);
  }
  sys.close(w);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) => {
    child.once('exit', (c, s) => res([c, s]));
    child.once('error', () => res([null, null]));
  });
  const buf = Buffer.alloc(64);
  for (;;) {
    let n: number;
    try {
      n = readSync(r, buf);
    } catch (e) {
      if (errCode(e) === 'EINTR' || errCode(e) === 'EAGAIN') continue;
      break;
    }
    if (n === 0) break;
  }
  const [code, signal] = await exited;
  if (code === null && signal === null) die('fghack', 111, 'wait failed');
  if (signal !== null || code === null) die('fghack', 111, 'child crashed');
  return code;
}
