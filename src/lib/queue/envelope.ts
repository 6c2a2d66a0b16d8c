/**
 * queue/envelope: the envelope qmail-queue reads on descriptor 1
 * (qmail-queue(8)): `F<sender>\0`, then `T<recipient>\0` per recipient, then
 * one extra `\0`. Bytes after that final \0 are never read.
 *
 * EnvelopeScanner validates it incrementally, as qmail-queue reads it, and
 * hands back the bytes that go into intd/N (everything up to, not including,
 * the final \0). Its verdicts are qmail-queue's: the first byte not `F`, or a
 * byte other than `T`/\0 where a recipient may start -> 91; an address of
 * more than 1002 bytes (1003 read without its \0) -> 11; end of input before
 * the final \0 -> 54 (the caller's read error).
 */

/** Longest address qmail-queue accepts, in bytes (ADDR - 1 in qmail-queue.c). */
export const MAX_ADDR = 1002;

type State = 'start' | 'addr' | 'next' | 'done';

/** Incremental envelope validator; feed() chunks until done or an error code. */
export class EnvelopeScanner {
  private state: State = 'start';
  private len = 0;
  /** true once the final \0 was seen */
  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Scan one chunk. Returns { out, used, code }: `out` is the part of this
   * chunk that belongs in intd (append it), `used` how many bytes were
   * consumed, `code` 11 or 91 on a format error (stop reading then), else 0.
   * Once done, further chunks are ignored (used = 0).
   */
  feed(chunk: Uint8Array): { out: Uint8Array; used: number; code: number } {
    let i = 0;
    const n = chunk.length;
    for (; i < n && this.state !== 'done'; i++) {
      const c = chunk[i];
      switch (this.state) {
        case 'start':
          if (c !== 0x46) return { out: chunk.subarray(0, i), used: i, code: 91 };
          this.state = 'addr';
          this.len = 0;
          break;
        case 'addr':
          if (c === 0) this.state = 'next';
          else if (++this.len > MAX_ADDR) return { out: chunk.subarray(0, i), used: i, code: 11 };
          break;
        case 'next':
          if (c === 0) {
            this.state = 'done';
            return { out: chunk.subarray(0, i), used: i + 1, code: 0 };
          }
          if (c !== 0x54) return { out: chunk.subarray(0, i), used: i, code: 91 };
          this.state = 'addr';
          this.len = 0;
          break;
      }
    }
    return { out: chunk.subarray(0, i), used: i, code: 0 };
  }
}

/** One address as envelope bytes: a string is encoded UTF-8; a Buffer is taken as is. */
function addrBytes(a: string | Uint8Array): Buffer {
  return typeof a === 'string' ? Buffer.from(a, 'utf8') : Buffer.from(a);
}

/**
 * The envelope bytes for a sender and recipients: `F<sender>\0T<r1>\0...\0`.
 * Addresses must not contain \0 (throws RangeError); length limits are
 * qmail-queue's to enforce (11).
 */
export function envelopeBytes(sender: string | Uint8Array, recipients: Array<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  const put = (tag: string, a: string | Uint8Array): void => {
    const b = addrBytes(a);
    if (b.includes(0)) throw new RangeError('envelope address contains a NUL byte');
    parts.push(Buffer.from(tag), b, Buffer.alloc(1));
  };
  put('F', sender);
  for (const r of recipients) put('T', r);
  parts.push(Buffer.alloc(1));
  return Buffer.concat(parts);
}

/** A parsed queue envelope (todo/N or intd/N as qmail-queue writes it). */
export interface QueuedEnvelope {
  uid: number;
  pid: number;
  sender: Buffer;
  recipients: Buffer[];
}

/**
 * Parse todo/N's contents: `u<uid>\0p<pid>\0F<sender>\0` then `T<rcpt>\0`...
 * (the layout qmail-send reads). Returns undefined when it does not have that
 * shape (a truncated or foreign file).
 */
export function parseQueuedEnvelope(b: Buffer): QueuedEnvelope | undefined {
  const fields: Buffer[] = [];
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      fields.push(b.subarray(s, i));
      s = i + 1;
    }
  }
  if (s !== b.length || fields.length < 3) return undefined;
  const [u, p, f, ...ts] = fields;
  if (u[0] !== 0x75 || p[0] !== 0x70 || f[0] !== 0x46) return undefined;
  const uid = Number(u.subarray(1).toString());
  const pid = Number(p.subarray(1).toString());
  if (!/^[0-9]+$/.test(u.subarray(1).toString()) || !/^[0-9]+$/.test(p.subarray(1).toString())) return undefined;
  if (ts.some((t) => t[0] !== 0x54)) return undefined;
  return { uid, pid, sender: f.subarray(1), recipients: ts.map((t) => t.subarray(1)) };
}
