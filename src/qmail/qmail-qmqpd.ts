/**
 * qmail-qmqpd: receive one message via QMQP (qmail-qmqpd(8)), under
 * tcpserver with the connection on its standard input and output;
 * in-process inside our tcpserver (exports inProcess). No arguments.
 *
 * Trusts its clients (no rcpthosts check: restrict them with tcpserver
 * rules). Environment: TCPREMOTEHOST, TCPREMOTEINFO, TCPREMOTEIP,
 * TCPLOCALHOST, TCPLOCALIP (Received line), QMAILQUEUE, QMAILHOME. The
 * conversation is src/lib/qmtp/qmqpd.ts; messages are queued as
 * src/lib/qmtp/submit.ts says.
 *
 * Exit codes, as the original's: 0 after the reply or when the client is
 * gone; 100 on a protocol violation; 111 when the qmail home is missing
 * (checked first), for an absurd length, or after an hour.
 */
import { accessSync, constants } from 'node:fs';
import type { Ctx } from '../lib/program.ts';
import { qmailHome } from '../lib/qmailhome.ts';
import { newPseudoPid, sessionOf } from '../lib/inprocess.ts';
import { ByteReader } from '../lib/netstring.ts';
import { qmqpServe } from '../lib/qmtp/qmqpd.ts';
import { peerNames, runSession, writer } from '../lib/qmtp/serverenv.ts';
import { submit } from '../lib/qmtp/submit.ts';

export const inProcess = true;

/** The program (see the module comment): exit status as described there. */
export async function main(ctx: Ctx): Promise<number> {
  const home = qmailHome(ctx.env);
  try {
    accessSync(home, constants.X_OK);
  } catch {
    return 111;
  }
  for (const s of [ctx.stdin, ctx.stdout]) if ('allowHalfOpen' in s) (s as { allowHalfOpen: boolean }).allowHalfOpen = true;
  const inSession = sessionOf(ctx) !== undefined;
  const reader = new ByteReader(ctx.stdin);
  return runSession(() =>
    qmqpServe(reader, {
      ...peerNames(ctx.env),
      queue: (m, e) => submit(ctx.env, home, inSession ? newPseudoPid() : process.pid, m, e),
      write: writer(ctx.stdout),
    }),
  );
}
