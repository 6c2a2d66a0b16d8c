/**
 * Helpers for the ucspi-tcp tests: run a tcpserver (ours or Debian's) on a
 * free port of 127.0.0.1 and read its `-1` port and log, talk to it. (The
 * DNS server for DNSCACHEIP is in dns-server.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export interface Running {
  child: ChildProcess;
  port: number;
  /** everything written on stderr so far */
  log(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 3 s) */
  stop(): Promise<void>;
}

/** Start `bin [pre...] -1 args...` and wait for the port on its stdout. */
export function startServer(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env, pre: string[] = []): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...pre, '-1', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.on('exit', (code) => reject(new Error(`${bin} exited ${code}: ${err}`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m)
        resolve({
          child,
          port: Number(m[1]),
          log: () => err,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exited;
            clearTimeout(t);
          },
        });
    });
  });
}

/** Connect, write input (then half-close unless keepOpen), collect everything until the server closes. */
export function talk(port: number, input = '', host = '127.0.0.1', keepOpen = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let got = '';
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      if (input) s.write(input);
      if (!keepOpen) s.end();
    });
  });
}

/** Replace pids and ephemeral ports in tcpserver log lines so two runs compare. */
export function normLog(log: string, ports: number[] = []): string {
  let s = log;
  for (const p of ports) s = s.split(String(p)).join('PORT');
  return s
    .replace(/tcpserver: (pid|ok|deny|end) \d+/g, 'tcpserver: $1 PID')
    .replace(/(:127\.0\.0\.1:[^:\n]*:)\d+$/gm, '$1RPORT')
    .replace(/pid \d+:/g, 'pid PID:');
}
