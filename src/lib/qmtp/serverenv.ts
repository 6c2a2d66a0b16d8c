/**
 * qmtp/serverenv: what qmail-qmtpd and qmail-qmqpd take from tcpserver's
 * environment for the Received line (qmail-qmtpd.c, qmail-qmqpd.c), how
 * they answer, and how their sessions end.
 *
 * TCPREMOTEHOST (default `unknown`), TCPREMOTEINFO (left out when unset),
 * TCPREMOTEIP (default `unknown`), TCPLOCALHOST else TCPLOCALIP (default
 * `unknown`).
 */
import type { Writable } from 'node:stream';
import { EndOfInput } from '../netstring.ts';
import { QmtpExit } from './qmtpd.ts';

type Env = Record<string, string | undefined>;

/** The connection's names for the Received line. */
export function peerNames(env: Env): { local: string; remoteIp: string; remoteHost: string; remoteInfo?: string } {
  return {
    local: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? 'unknown',
    remoteIp: env.TCPREMOTEIP ?? 'unknown',
    remoteHost: env.TCPREMOTEHOST ?? 'unknown',
    remoteInfo: env.TCPREMOTEINFO,
  };
}

/** The client went away while we wrote. */
export class WriteGone extends Error {}

/** A write function on out that rejects with WriteGone when the client is gone. */
export function writer(out: Writable): (b: Buffer) => Promise<void> {
  let gone = false;
  out.on('error', () => (gone = true));
  return (b) =>
    new Promise<void>((resolve, reject) => {
      if (gone || out.destroyed || out.writableEnded) {
        reject(new WriteGone());
        return;
      }
      out.write(b, (e) => (e ? reject(new WriteGone()) : resolve()));
    });
}

/**
 * Run a session with the servers' one-hour alarm (exit 111) and map how it
 * ended to the exit code: QmtpExit's code, 0 at end of input or when the
 * client is gone. Other errors propagate.
 */
export async function runSession(serve: () => Promise<number>, alarmSecs = 3600): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const alarm = new Promise<number>((res) => (timer = setTimeout(() => res(111), alarmSecs * 1000)));
  const served = serve().catch((e: unknown) => {
    if (e instanceof QmtpExit) return e.code;
    if (e instanceof EndOfInput || e instanceof WriteGone) return 0;
    throw e;
  });
  try {
    return await Promise.race([served, alarm]);
  } finally {
    clearTimeout(timer);
  }
}
