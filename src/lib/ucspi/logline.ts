/**
 * logline: tcpserver's `-v` log lines (tcpserver.c; ../shared/FORMATS.md
 * section 8), written whole to fd 2 with one write each so lines from
 * concurrent connections never mix.
 *
 * Public functions:
 *   safe(field)                 bytes < 33 or > 126, `%` and `:` -> `?`;
 *                               cut at 100 bytes with `...` appended
 *   connLine(verdict, pid, f)   `ok|deny PID LH:LIP:LPORT RH:RIP:RINFO:RPORT`
 *   waitStatus(code, signal)    the raw wait(2) status (exit 100 -> 25600)
 */
import { constants } from 'node:os';

/** A log field as tcpserver sanitises it (see the module comment). */
export function safe(field: string): string {
  const b = Buffer.from(field, 'latin1');
  let out = '';
  const n = Math.min(b.length, 100);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    out += c < 33 || c > 126 || c === 0x25 || c === 0x3a ? '?' : String.fromCharCode(c);
  }
  return b.length > 100 ? out + '...' : out;
}

/** What the `ok`/`deny` line shows of a connection (undefined = unset, printed empty). */
export interface ConnFields {
  localHost?: string;
  localIp: string;
  localPort: string;
  remoteHost?: string;
  remoteIp: string;
  remoteInfo?: string;
  remotePort: string;
}

/** `tcpserver: ok|deny PID LOCALHOST:LOCALIP:LOCALPORT REMOTEHOST:REMOTEIP:REMOTEINFO:REMOTEPORT`. */
export function connLine(verdict: 'ok' | 'deny', pid: number, f: ConnFields): string {
  const s = (v: string | undefined): string => (v === undefined ? '' : safe(v));
  return (
    `tcpserver: ${verdict} ${pid} ${s(f.localHost)}:${s(f.localIp)}:${s(f.localPort)} ` +
    `${s(f.remoteHost)}:${s(f.remoteIp)}:${s(f.remoteInfo)}:${s(f.remotePort)}`
  );
}

/**
 * The raw wait status of a child that exited with code or was killed by
 * signal (a name such as 'SIGTERM', as Node reports it): code << 8, or the
 * signal number (the core-dump bit is not known to Node and stays 0).
 */
export function waitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return (constants.signals as Record<string, number>)[signal] ?? 0;
  return ((code ?? 0) & 255) << 8;
}
