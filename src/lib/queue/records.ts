/**
 * queue/records: the record formats of qmail-send's per-message files
 * (INTERNALS sections 4-5), shared by qmail-qread now and qmail-send later:
 *
 *   info/S/N            `F<sender>\0` (a copy of todo's F record); its mtime
 *                       is the time the message was preprocessed
 *   local/S/N, remote/S/N   one record per recipient, `T<addr>\0` while NOT
 *                       DONE; qmail-send marks a recipient DONE by writing
 *                       `D` over its `T` in place (markdone: seek + 1-byte
 *                       write), so records never move
 *
 * Records are parsed as bytes (addresses may hold any byte but \0); an
 * unterminated tail (a write cut short) is not a record; records starting
 * with another byte are skipped, as qmail-qread and qmail-send do.
 */

/** One recipient record of local/N or remote/N. */
export interface ChannelRecord {
  done: boolean;
  addr: Buffer;
  /** byte offset of the T/D letter, where markdone writes `D` */
  pos: number;
}

/** The records of a local/ or remote/ file. */
export function parseChannelFile(b: Buffer): ChannelRecord[] {
  const out: ChannelRecord[] = [];
  let s = 0;
  for (let i = b.indexOf(0, s); i >= 0; i = b.indexOf(0, s)) {
    const c = b[s];
    if (i > s && (c === 0x54 || c === 0x44)) out.push({ done: c === 0x44, addr: b.subarray(s + 1, i), pos: s });
    s = i + 1;
  }
  return out;
}

/** `T<addr>\0`: a NOT DONE recipient record. */
export function channelRecord(addr: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('T'), addr, Buffer.alloc(1)]);
}

/** `F<sender>\0`: the info/ record. */
export function infoRecord(sender: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('F'), sender, Buffer.alloc(1)]);
}

/** The sender in info/N's contents: the bytes after its first byte, up to the first \0 (or the end). */
export function parseInfo(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return b.subarray(Math.min(1, b.length), nul < 0 ? b.length : nul);
}
