/**
 * deploy/supervised: is a service directory watched by a supervise right
 * now (svok's test: supervise holds the read end of `supervise/ok`, so an
 * open for writing without blocking succeeds), and the six directories of
 * an installation (each service, then its log).
 */
import { closeSync, constants, openSync } from 'node:fs';
import type { Layout } from './layout.ts';
import { SERVICES } from './tree.ts';

/** True while a supervise holds DIR/supervise/ok open. */
export function supervised(dir: string): boolean {
  try {
    closeSync(openSync(`${dir}/supervise/ok`, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** SERVICE/qmail-send, SERVICE/qmail-send/log, ... for qmail-smtpd and qmail-pop3d. */
export function serviceDirs(l: Layout): string[] {
  return SERVICES.flatMap((s) => [`${l.service}/${s}`, `${l.service}/${s}/log`]);
}
