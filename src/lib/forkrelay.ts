/**
 * forkrelay: what fixcrio and recordio do before exec'ing their program
 * (the originals' pipe + fork + dup2): make two pipes, start the relay child
 * (relay.ts) on the original stdin/stdout and the pipes' outer ends, then
 * move the inner ends onto fd 0 and fd 1 so the program, exec'd next in this
 * same process, talks through the relay. The relay is a child of the
 * program after the exec, as the forked copier is in the originals.
 *
 *   startRelay(mode, pid?)   throws RelayError (stage + errno error)
 *   relayFailure(prog, e)    dies with the original's message for the stage:
 *                            `unable to create pipe`, `unable to fork`,
 *                            `unable to move descriptors` (exit 111)
 */
import { spawn } from 'node:child_process';
import { sys } from './native.ts';
import { die } from './strerr.ts';
import { relayArgv } from './relay.ts';

/** A failed step of startRelay. */
export class RelayError extends Error {
  readonly stage: 'pipe' | 'fork' | 'move';
  readonly error: unknown;
  constructor(stage: 'pipe' | 'fork' | 'move', error: unknown) {
    super(`relay: ${stage}: ${error instanceof Error ? error.message : String(error)}`);
    this.stage = stage;
    this.error = error;
  }
}

function step<T>(stage: 'pipe' | 'fork' | 'move', f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new RelayError(stage, e);
  }
}

/** Start the relay child and put the program's pipe ends on fd 0 and 1. */
export function startRelay(mode: 'fixcrio' | 'recordio', pid?: number): void {
  const [toProgRead, toProgWrite] = step('pipe', () => sys.pipe());
  const [fromProgRead, fromProgWrite] = step('pipe', () => sys.pipe());
  const [file, args] = relayArgv(mode, pid);
  step('fork', () => spawn(file, args, { stdio: [0, 1, 2, toProgWrite, fromProgRead] }).unref());
  step('move', () => {
    sys.dup2(toProgRead, 0);
    sys.dup2(fromProgWrite, 1);
  });
  for (const fd of [toProgRead, toProgWrite, fromProgRead, fromProgWrite]) sys.close(fd);
}

/** `PROG: fatal: unable to create pipe|fork|move descriptors: ERR`, exit 111. */
export function relayFailure(prog: string, e: unknown): never {
  if (!(e instanceof RelayError)) throw e;
  const what = { pipe: 'unable to create pipe', fork: 'unable to fork', move: 'unable to move descriptors' }[e.stage];
  die(prog, 111, what, e.error);
}
