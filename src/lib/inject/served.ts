/**
 * inject/served: qmail-inject and sendmail run inside qmail-queued for a
 * local client, so a message injected from the command line costs no Node
 * start (20-45 ms; the C qmail-inject starts in about 1 ms). The client is
 * the native front end that bin/qmail-inject and bin/sendmail link to
 * (src/native/inject-client.c); the program that runs here is the same
 * TypeScript code (src/qmail/qmail-inject.ts's runInject(), sendmail's
 * sendmailPlan()) that `node .../launch.js` would run, with the client's
 * argv, environment, descriptor 0 and outputs, and the client's uid and pid
 * (SO_PEERCRED) recorded in the queue as the setuid qmail-queue records
 * getuid() and getpid() (queue/queued.ts).
 *
 * Protocol, on qmail-queued's socket (a queue request's first byte is a
 * digit; this one's is `I`):
 *
 *     client: I  P:program,  N:argv0\0arg1\0...,  M:NAME=value\0...,
 *     server: F                        run the program yourself (then closes)
 *           | G  client: message as netstring chunks closed by 0:,
 *           then R  A:stdout-bytes,  B:stderr-bytes,  C:exit-status,
 *
 * `program` is `qmail-inject` or `sendmail`, the module the client stands
 * for (argv0 is the name it was invoked as, which sendmail reads for
 * mailq/newaliases, as the Node program does). `G` is sent when the program first reads its input, so a usage error is
 * answered (`R`...) without reading descriptor 0, as the original does.
 * `F` (fall back) answers what needs a process of the caller's own:
 * QMAILQUEUE (a program to run as the caller), QMAILMFTFILE (a file to
 * read with the caller's rights), sendmail -bp/-bs/mailq (exec'd programs),
 * and any other program. The client's
 * QMAILHOME names the socket it reached; this server's qmail home is used.
 * A connection that breaks before its message's closing `0:,` queues
 * nothing (qmail-inject reports a read error to nobody and nothing is
 * queued); the client then reports qmail-queue's 74 text and exits 111.
 */
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { encode, readLength, type ByteReader } from '../netstring.ts';
import { subCtx, type Ctx } from '../program.ts';
import { runInject } from '../../qmail/qmail-inject.ts';
import { sendmailPlan } from './sendmail.ts';
import type { Caller } from './inject.ts';
import type { ByteSource } from '../queue/source.ts';

/** First byte of a request to run qmail-inject or sendmail. */
export const INJECT_REQUEST = 0x49; // 'I'

/** Largest argv or environment block accepted (bytes). */
const MAX_BLOCK = 1 << 20;

/** Read one netstring of at most max bytes from r. Throws on a malformed one or the end of input. */
async function readNetstring(r: ByteReader, max: number): Promise<Buffer> {
  const len = await readLength(r);
  if (len > max) throw new Error('netstring too long');
  const b = await r.take(len);
  if ((await r.get()) !== 0x2c) throw new Error('malformed netstring');
  return b;
}

/** `a\0b\0` -> ['a', 'b'] (UTF-8, as Node decodes argv and the environment). */
function split0(b: Buffer): string[] {
  const s = b.toString('utf8');
  const parts = s.split('\0');
  if (parts.pop() !== '') throw new Error('malformed block');
  return parts;
}

/** A Writable that keeps what is written. */
function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      into.push(Buffer.from(chunk));
      cb();
    },
  });
}

/** A Readable over a ByteSource (the message's chunks). */
function readableOf(src: ByteSource): Readable {
  return Readable.from(
    (async function* () {
      for (;;) {
        const b = Buffer.allocUnsafe(65536);
        const n = await src.read(b);
        if (n === 0) return;
        yield b.subarray(0, n);
      }
    })(),
  );
}

/**
 * Serve one `I` request on s (r reads s; its first byte, `I`, not yet
 * consumed). `source` turns the connection's remaining bytes into the
 * message (queued.ts's chunkSource). Resolves when answered; rejects on a
 * malformed request or a broken connection (the caller drops it).
 */
export async function serveInject(home: string, s: Socket, r: ByteReader, source: (r: ByteReader) => ByteSource, caller: Caller): Promise<void> {
  await r.get();
  const name = (await readNetstring(r, 64)).toString('latin1');
  const argv = split0(await readNetstring(r, MAX_BLOCK));
  const env: Record<string, string> = {};
  for (const kv of split0(await readNetstring(r, MAX_BLOCK))) {
    const i = kv.indexOf('=');
    if (i > 0 && !(kv.slice(0, i) in env)) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.QMAILHOME = home;
  const fallBack = (): void => void s.end('F');
  if ((env.QMAILQUEUE ?? '') !== '' || env.QMAILMFTFILE !== undefined) return fallBack();
  if (name !== 'qmail-inject' && name !== 'sendmail') return fallBack();

  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let stdin: Readable | undefined;
  const ctx: Ctx = {
    argv,
    env,
    cwd: '/',
    get stdin() {
      if (!stdin) {
        s.write('G');
        stdin = readableOf(source(r));
      }
      return stdin;
    },
    stdout: collector(out),
    stderr: collector(err),
  };
  let status: number;
  if (name === 'sendmail') {
    const plan = sendmailPlan(argv, env, (line) => err.push(Buffer.from(line + '\n')));
    if (plan.kind === 'qread' || plan.kind === 'smtpd') return fallBack();
    if (plan.kind === 'fail') {
      err.push(Buffer.from(plan.message + '\n'));
      status = plan.status;
    } else status = await runInject(subCtx(ctx, plan.argv, plan.env), caller);
  } else status = await runInject(ctx, caller);
  await new Promise<void>((res) => s.end(Buffer.concat([Buffer.from('R'), encode(Buffer.concat(out)), encode(Buffer.concat(err)), encode(String(status))]), res));
}
