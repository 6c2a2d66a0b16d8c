/**
 * local/program: run a `|command` delivery (qmail-command(8)): /bin/sh -c
 * COMMAND in the recipient's home directory, the message on fd 0 (a fresh
 * descriptor at offset 0), fds 1 and 2 one pipe whose bytes become part of
 * qmail-local's report, in the order written. The child gets default signal
 * dispositions (SIGPIPE included) and the caller's umask. Strings are
 * latin1; the command and environment reach the child as their bytes when
 * those are UTF-8 (anything else is passed as Node's UTF-8 encoding of it).
 *
 * Exit code -> what qmail-local does (mailprogram()):
 *   0 ok; 99 ok, ignore further lines; 100, 64, 65, 70, 76, 77, 78, 112
 *   hard failure (qmail-local exits 100); any other code soft (111); killed
 *   by a signal: "Aack, child crashed. (#4.3.0)" (111).
 */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { sys } from '../native.ts';

/** How a program delivery ended. */
export interface ProgramResult {
  /** exit code, or undefined when killed by a signal */
  code: number | undefined;
  /** what the program wrote on fds 1 and 2 (latin1) */
  output: string;
  /** set when /bin/sh could not be started */
  spawnError?: unknown;
}

/** latin1 string -> the string Node will write back as the same bytes (when they are UTF-8). */
export function nativeString(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Classify a program's exit code as qmail-local does: 'ok', 'stop' (99), 'hard', 'soft'. */
export function programOutcome(code: number): 'ok' | 'stop' | 'hard' | 'soft' {
  switch (code) {
    case 0:
      return 'ok';
    case 99:
      return 'stop';
    case 100:
    case 64:
    case 65:
    case 70:
    case 76:
    case 77:
    case 78:
    case 112:
      return 'hard';
    default:
      return 'soft';
  }
}

/**
 * Run `/bin/sh -c command` in cwd with env, stdin = stdinFd (the caller
 * keeps and closes it). Resolves when the child has exited and the output
 * pipe is drained.
 */
export function runProgram(command: string, cwd: string, env: Record<string, string>, stdinFd: number): Promise<ProgramResult> {
  const [r, w] = sys.pipe();
  const nenv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) nenv[nativeString(k)] = nativeString(v);
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('/bin/sh', ['-c', nativeString(command)], { cwd: nativeString(cwd), env: nenv, stdio: [stdinFd, w, w] });
    } catch (e) {
      closeSync(w);
      closeSync(r);
      resolve({ code: undefined, output: '', spawnError: e });
      return;
    }
    closeSync(w);
    const chunks: Buffer[] = [];
    const out = new Socket({ fd: r, readable: true, writable: false });
    let exit: [number | null, NodeJS.Signals | null] | undefined;
    let drained = false;
    let failed: unknown;
    const done = (): void => {
      if (!drained || (exit === undefined && failed === undefined)) return;
      const output = Buffer.concat(chunks).toString('latin1');
      if (failed !== undefined && exit === undefined) resolve({ code: undefined, output, spawnError: failed });
      else resolve({ code: exit![0] ?? undefined, output });
    };
    out.on('data', (d: Buffer) => chunks.push(d));
    out.on('error', () => undefined);
    out.on('close', () => {
      drained = true;
      done();
    });
    child.on('error', (e) => {
      failed = e;
      done();
    });
    child.on('exit', (code, sig) => {
      exit = [sig ? null : code, sig];
      done();
    });
  });
}
