/**
 * forkrelay: what fixcrio and recordio do before exec'ing their program
 * (the originals' pipe + fork): make two pipes, start the relay child
 * (relay.ts) on the original stdin/stdout and the pipes' outer ends, then
 * move the inner ends onto fd 0 and fd 1 so the program, exec'd next in this
 * same process, talks through the relay. The relay is a child of the
 * program after the exec, as the forked copier is in the originals.
 *
 *   startRelay(mode, pid?)   throws the pipe/spawn error (.code)
 */
import { spawn } from 'node:child_process';
import { sys } from './native.ts';
import { relayArgv } from './relay.ts';

export function startRelay(mode: 'fixcrio' | 'recordio', pid?: number): void {
  const [toProgRead, toProgWrite] = sys.pipe();
  const [fromProgRead, fromProgWrite] = sys.pipe();
  const [file, args] = relayArgv(mode, pid);
  const child = spawn(file, args, { stdio: [0, 1, 2, toProgWrite, fromProgRead] });
  child.unref();
  sys.dup2(toProgRead, 0);
  sys.dup2(fromProgWrite, 1);
  for (const fd of [toProgRead, toProgWrite, fromProgRead, fromProgWrite]) sys.close(fd);
}
