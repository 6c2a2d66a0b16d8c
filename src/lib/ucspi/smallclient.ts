/**
 * smallclient: the sample clients ucspi-tcp builds on tcpclient (who@,
 * date@, finger@, http@, tcpcat, mconnect; Debian ships them as sh scripts
 * running `tcpclient -RHl0 -- host port ...` with addcr/delcr, `cat -v` and
 * awk). One process here: connect as tcpclient does (same messages), send
 * the request, and filter the answer the way the script's pipeline does.
 *
 * Public functions:
 *   catV(chunk)            `cat -v`: control bytes as ^X, DEL as ^?, bytes
 *                          >= 128 as M- plus the same rendering of the low 7 bits
 *   new HttpBody()         the scripts' awk: drop lines up to and including
 *                          the first empty one, and every empty line after;
 *                          print the rest with LF (a last partial line too)
 *   runClient(ctx, spec)   the whole client; resolves with the exit status
 */
import type { Readable } from 'node:stream';
import type { Ctx } from '../program.ts';
import { errline } from '../strerr.ts';
import { addcr, DelCr } from '../crlf.ts';
import { ClientFatal, clientTarget, connectFirst } from './client.ts';

/** `cat -v` rendering of a chunk. */
export function catV(chunk: Buffer): Buffer {
  const out: number[] = [];
  for (let c of chunk) {
    if (c >= 128) {
      out.push(0x4d, 0x2d); // M-
      c -= 128;
    }
    if (c === 0x09 || c === 0x0a) out.push(c);
    else if (c < 32) out.push(0x5e, c + 64);
    else if (c === 127) out.push(0x5e, 0x3f);
    else out.push(c);
  }
  return Buffer.from(out);
}

/** http@'s awk program over a stream (see the module comment). */
export class HttpBody {
  private pending = '';
  private body = false;

  private line(l: string): string {
    if (l === '') {
      this.body = true;
      return '';
    }
    return this.body ? l + '\n' : '';
  }

  push(chunk: Buffer): Buffer {
    const text = this.pending + chunk.toString('latin1');
    const parts = text.split('\n');
    this.pending = parts.pop()!;
    return Buffer.from(parts.map((l) => this.line(l)).join(''), 'latin1');
  }

  end(): Buffer {
    const l = this.pending;
    this.pending = '';
    return Buffer.from(l === '' ? '' : this.line(l), 'latin1');
  }
}

export interface ClientSpec {
  host: string;
  port: string;
  /** bytes to send (already with CRs), or 'stdin' to copy stdin with addcr until its EOF */
  send?: Buffer | 'stdin';
  /** the answer's filter: push per chunk, end at EOF */
  filter: { push(b: Buffer): Buffer; end(): Buffer };
  /** exit status when tcpclient fails: 111 when the script execs tcpclient, 0 when it ends a pipeline */
  failStatus: number;
}

/** Identity filter (tcpcat, mconnect). */
export const raw = { push: (b: Buffer): Buffer => b, end: (): Buffer => Buffer.alloc(0) };

/** delcr then cat -v (who@, date@, finger@). */
export function delcrCatV(): ClientSpec['filter'] {
  const d = new DelCr();
  return { push: (b) => catV(d.push(b)), end: () => catV(d.end()) };
}

/** delcr then the awk body filter (http@). */
export function delcrBody(): ClientSpec['filter'] {
  const d = new DelCr();
  const h = new HttpBody();
  return { push: (b) => h.push(d.push(b)), end: () => Buffer.concat([h.push(d.end()), h.end()]) };
}

function write(ctx: Ctx, b: Buffer): Promise<void> {
  return new Promise((resolve) => (b.length ? ctx.stdout.write(b, () => resolve()) : resolve()));
}

/** Run one client (see the module comment). */
export async function runClient(ctx: Ctx, spec: ClientSpec): Promise<number> {
  let target;
  try {
    target = await clientTarget(ctx.env, spec.host, spec.port);
  } catch (e) {
    if (!(e instanceof ClientFatal)) throw e;
    errline(`tcpclient: fatal: ${e.message}`);
    return spec.failStatus;
  }
  const sock = await connectFirst(target.ips, target.port, { c1: 2, c2: 58, verbosity: 1 });
  if (!sock) return spec.failStatus;
  sock.on('error', () => sock.destroy());
  let writes = Promise.resolve();
  const received = new Promise<void>((resolve) => {
    sock.on('data', (b: Buffer) => {
      const out = spec.filter.push(b);
      writes = writes.then(() => write(ctx, out));
    });
    sock.on('close', () => {
      const out = spec.filter.end();
      writes = writes.then(() => write(ctx, out));
      resolve();
    });
  });
  sock.resume();
  if (spec.send === 'stdin') {
    // mconnect: stdin with CRs to the server until stdin ends, then quit
    const input: Readable = ctx.stdin;
    await new Promise<void>((resolve) => {
      input.on('data', (b: Buffer) => sock.write(addcr(b)));
      input.on('end', resolve);
      input.on('error', resolve);
    });
    await new Promise<void>((r) => sock.write('', () => r()));
    sock.destroy();
    await writes;
    return 0;
  }
  if (spec.send) sock.write(spec.send);
  await received;
  await writes;
  return 0;
}
