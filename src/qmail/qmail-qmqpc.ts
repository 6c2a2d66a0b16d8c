/**
 * qmail-qmqpc: queue a mail message via QMQP (qmail-qmqpc(8)): the
 * qmail-queue interface (message on fd 0, envelope read from fd 1, exit
 * codes of qmail-queue(8)), so it can be QMAILQUEUE or mini-qmail's
 * qmail-queue. Sends to the servers of QMAILHOME/control/qmqpservers, one
 * IP address a line, port 628, trying each in turn until one accepts a
 * connection (src/lib/qmtp/qmqpc.ts, which lists the exit codes: 0, 31,
 * 51, 54, 55, 56, 61, 71-74, 91). No arguments, no output.
 */
import { accessSync, constants } from 'node:fs';
import { readAll } from '../lib/fdio.ts';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { Control } from '../lib/control.ts';
import { qmqpPacket, qmqpSend } from '../lib/qmtp/qmqpc.ts';

/** The program (see the module comment): exit status as described there. */
export async function main(ctx: Ctx): Promise<number> {
  const home = qmailHome(ctx.env);
  try {
    accessSync(home, constants.X_OK);
  } catch {
    return 61;
  }
  let servers: string[] | undefined;
  try {
    servers = new Control(home).readfile('qmqpservers');
  } catch {
    return 55;
  }
  if (servers === undefined) return 55;
  const message = readAll(0);
  if (message === undefined) return 54;
  const envelope = readAll(1);
  if (envelope === undefined) return 54;
  const packet = qmqpPacket(message, envelope);
  if (packet === 91) return 91;
  return qmqpSend(servers, packet);
}
