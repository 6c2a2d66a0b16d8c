/**
 * remote/spawn: one remote delivery for qmail-rspawn without a process
 * (qmail-rspawn(8) runs `qmail-remote host sender recip` per delivery; a
 * Node start per delivery costs ~50 ms, see bench/qmail-remote.ts).
 *
 *   const r = await spawnDelivery({ recipient, sender, fd, env, home });
 *   // r = { status: 'K' | 'Z' | 'D', text }  ready for the spawn report
 *
 * host is the part of recipient after its last `@`, as qmail-rspawn passes
 * it; fd is the open queue/mess file (read from offset 0; the caller closes
 * it). The report bytes of deliverRemote() go through qmail-rspawn's own
 * translation (rspawn/report.ts remoteReport, exit code 0), so the result
 * is what running the program would give. An unexpected exception counts
 * as a crash (`Zqmail-remote crashed.`). Same privileges as the program:
 * qmail-rspawn and qmail-remote both run as qmailr.
 *
 * tcptoClean(home) is qmail-rspawn's start-up tcpto_clean(): zero
 * queue/lock/tcpto, ignoring every error.
 */
import { remoteReport } from '../rspawn/report.ts';
import { deliverRemote } from './deliver.ts';
import { tcptoClear, tcptoPath } from './tcpto.ts';

/** One delivery as qmail-rspawn runs it (see module comment). */
export async function spawnDelivery(d: { recipient: string; sender: string; fd: number; env: Record<string, string | undefined>; home: string }): Promise<{ status: string; text: string }> {
  const host = d.recipient.slice(d.recipient.lastIndexOf('@') + 1);
  let out: Buffer;
  try {
    out = await deliverRemote({ host, sender: d.sender, recipients: [d.recipient], message: d.fd, env: d.env, home: d.home });
  } catch {
    return remoteReport({ code: 0, crashed: true }, Buffer.alloc(0));
  }
  return remoteReport({ code: 0 }, out);
}

/** Zero QMAILHOME/queue/lock/tcpto, ignoring errors (tcpto_clean at qmail-rspawn's start). */
export function tcptoClean(home: string): void {
  try {
    tcptoClear(tcptoPath(home));
  } catch {
    /* as tcpto_clean: nothing to do */
  }
}
