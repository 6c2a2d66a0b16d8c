/**
 * Helpers for the supervision tests: service directories, starting and
 * reliably stopping supervise (ours or Debian's), reading supervise/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { ours, theirs, until } from './helpers.ts';

/** Make DIR/NAME with a `#!/bin/sh` run script whose body is `body`. */
export function mkservice(root: string, name: string, body: string, down = false): string {
  const d = `${root}/${name}`;
  mkdirSync(d, { recursive: true });
  writeFileSync(`${d}/run`, `#!/bin/sh\n${body}\n`);
  chmodSync(`${d}/run`, 0o755);
  if (down) writeFileSync(`${d}/down`, '');
  return d;
}

/** The status file's bytes, or undefined. */
export function status(dir: string): Buffer | undefined {
  try {
    const b = readFileSync(`${dir}/supervise/status`);
    return b.length === 18 ? b : undefined;
  } catch {
    return undefined;
  }
}

/** pid in a status file (0 when down or missing). */
export function pidOf(dir: string): number {
  return status(dir)?.readUInt32LE(12) ?? 0;
}

/** Status bytes with timestamp and pid normalised (pid -> 1 when running). */
export function shape(b: Buffer | undefined): string {
  if (!b) return 'none';
  const c = Buffer.from(b);
  c.fill(0, 0, 12);
  c.writeUInt32LE(c.readUInt32LE(12) === 0 ? 0 : 1, 12);
  return c.toString('hex');
}

/** svstat output with pids and ages normalised. */
export function normSvstat(s: string): string {
  return s.replace(/\(pid \d+\)/g, '(pid P)').replace(/\d+ seconds/g, 'S seconds');
}

/** A supervise started by a test. */
export interface Running {
  proc: ChildProcess;
  dir: string;
  /** stdout+stderr so far */
  out: () => string;
  /** resolves with the exit code (or signal name) */
  done: Promise<number | string>;
}

/** Start `supervise NAME` (bin = ours or theirs) in root; waits until svok says it runs. */
export async function startSupervise(bin: string, root: string, name: string, env?: NodeJS.ProcessEnv): Promise<Running> {
  const proc = spawn(bin, [name], { cwd: root, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  let exited = false;
  const done = new Promise<number | string>((res) =>
    proc.once('exit', (c, s) => {
      exited = true;
      res(c ?? s ?? -1);
    }),
  );
  const dir = `${root}/${name}`;
  const svok = theirs('svok') ?? ours('svok');
  await until(async () => exited || (await execa(svok, [dir], { reject: false })).exitCode === 0, 10000);
  return { proc, dir, out: () => out, done };
}

/**
 * A process identity that survives pid reuse (pid_max is 32768 here and many
 * tests run at once): the pid and its start time from /proc/PID/stat.
 */
export interface ProcId {
  pid: number;
  start: string;
}

function startTime(pid: number): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The identity of a running pid (undefined for 0 or a process already gone). */
export function procId(pid: number): ProcId | undefined {
  const start = pid === 0 ? undefined : startTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** SIGKILL p if it is still the same process. */
export function killSame(p: ProcId | undefined): void {
  if (p === undefined || startTime(p.pid) !== p.start) return;
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Stop a supervise and its ./run for sure: svc -dx, then kill what is left. */
export async function stopSupervise(r: Running): Promise<void> {
  const run = procId(pidOf(r.dir));
  if (r.proc.exitCode === null && r.proc.signalCode === null) {
    await execa(ours('svc'), ['-dx', r.dir], { reject: false });
    const t = setTimeout(() => r.proc.kill('SIGKILL'), 3000);
    await r.done;
    clearTimeout(t);
  }
  killSame(run);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
