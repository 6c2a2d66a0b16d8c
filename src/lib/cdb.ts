/**
 * cdb: D. J. Bernstein's constant database (cdb(5); ../shared/FORMATS.md
 * section 6), the on-disk format of tcprules' rules.cdb and qmail's users/cdb.
 *
 * File layout (all integers little-endian uint32):
 *   - 2048-byte header: 256 x (table position, slot count)
 *   - records from offset 2048 in insertion order: keylen, datalen, key, data
 *   - 256 hash tables, bucket order; bucket i holds the records whose hash h
 *     has h & 255 == i, in 2 x count slots of (hash, record position), a
 *     record placed at slot (h >>> 8) % slots, probing forward (wrapping) to
 *     the first empty (0,0) slot, records taken in insertion order.
 *   - hash: h = 5381; for each byte b: h = ((h << 5) + h) ^ b (mod 2^32).
 * Repeated keys are kept, in insertion order. The output of CdbWriter is
 * byte-identical to ucspi-tcp's cdb_make (tcprules, cdbmake) and tinycdb's
 * `cdb -c` for the same record sequence (test/cdb.test.ts compares bytes).
 *
 * Public API:
 *   cdbHash(key)                      the cdb hash of a key (uint32)
 *   new CdbWriter(fd) / .add / .addBytes / .finish  stream records into an open file
 *   .addRecords / .position           records already in cdb layout, in bulk (tcprules)
 *   cdbBuild(records)                 the whole file as a Buffer (in memory)
 *   CdbFile.create(tmp) / .add / .addBytes / .addRecords / .commit(path) / .abandon()
 *   cdbWriteAtomic(path, tmp, fill)   the same in one call: tmp, fsync, rename
 *   Cdb.open(path) / Cdb.load(path) / Cdb.fromBuffer(buf)
 *   cdb.get(key) / .getAll(key) / .entries() / .close()
 *
 * Reading: Node has no mmap. Cdb.open() keeps the file descriptor and reads
 * only what a lookup touches with pread (8 bytes of header, a few 8-byte
 * slots, the candidate records): constant memory however large the file, and
 * the open descriptor keeps seeing the same file even when tcprules renames
 * a new one over it (as the C readers do). Measured on a 4.9 MB cdb of
 * 100 000 rules: open + a tcpserver lookup missing every rule class + close
 * takes ~56 us; Cdb.load() (read the whole file, then look up in memory)
 * takes ~1.6 ms for the same. So: open() per connection in servers; load()
 * only when one file serves very many lookups (a dump, a batch check).
 *
 * Errors: any read the lookup needs that falls outside the file (a header
 * entry of a short file, a table, slot, record, key or data pointer) makes
 * it throw an Error with code 'EPROTO' (errstr: "protocol error") instead of
 * giving a wrong answer, as cdb_read() does in the C readers; like them the
 * check is per read, so a lookup that touches only intact bytes of a
 * damaged file still answers. An empty file gives 'EINVAL' ("invalid
 * argument"), what ucspi-tcp's mmap-based reader reports for it. System
 * errors (ENOENT, EACCES, EIO...) are thrown as Node raised them (.code).
 */
import { fs } from './nodefs.ts';

const { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, readFileSync, writeSync, constants } = fs;

/** Size of the fixed header: 256 (position, length) pairs. */
export const CDB_HEADER = 2048;

const MAX32 = 0xffffffff;

/** An Error carrying an errno-style code, so errstr() prints DJB's phrase. */
function codeError(code: string, message: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

function protoError(what: string): NodeJS.ErrnoException {
  return codeError('EPROTO', `cdb: protocol error: ${what}`);
}

function toBuf(b: Buffer | string): Buffer {
  return typeof b === 'string' ? Buffer.from(b) : b;
}

/** The cdb hash of key (uint32): h = 5381; h = ((h << 5) + h) ^ byte. */
export function cdbHash(key: Buffer | string): number {
  return hashBytes(toBuf(key));
}

function hashBytes(k: Buffer): number {
  let h = 5381;
  for (let i = 0; i < k.length; i++) h = (((h << 5) + h) ^ k[i]) >>> 0;
  return h;
}

/** Write all of buf at file position pos (null: current position), retrying short writes. */
function pwriteAll(fd: number, buf: Buffer, pos: number | null): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, pos === null ? null : pos + off);
}

/** Where a CdbWriter puts its bytes: appended in order (append must copy what it keeps), then the header at offset 0. */
interface Sink {
  append(b: Buffer): void;
  header(b: Buffer): void;
}

function fdSink(fd: number): Sink {
  return { append: (b) => pwriteAll(fd, b, null), header: (b) => pwriteAll(fd, b, 0) };
}

/** Bytes a CdbWriter gathers before handing them to its sink (few large writes). */
const WRITE_BUFFER = 1 << 20;

/** The host stores uint32s little-endian (then typed arrays are the file's byte order). */
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bytes of a Uint32Array or Int32Array as little-endian 32-bit integers (a view on little-endian hosts). */
function le32(a: Uint32Array | Int32Array): Buffer {
  const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (!HOST_LE) b.swap32();
  return b;
}

/**
 * CdbWriter: builds a cdb file in an open, empty, writable file descriptor
 * (as cdb_make_start/add/finish do). add()/addBytes() append records through
 * a 1 MiB buffer; finish() writes the hash tables in one write, then the
 * header at offset 0. The caller owns fd: fsync, close and rename are its
 * job (see cdbWriteAtomic). Throws the write error (e.g. ENOSPC) as Node
 * raised it; ENOMEM if the file would exceed 4 GiB (the format's 32-bit
 * positions, as cdb_make's posplus).
 */
export class CdbWriter {
  private readonly sink: Sink;
  private pos = CDB_HEADER;
  private readonly buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private used = 0;
  /** cdb hash (as int32) and file position (as int32) of each record */
  private hashes = new Int32Array(1024);
  private positions = new Int32Array(1024);
  private count = 0;
  /** records per bucket (hash & 255), counted as they are added */
  private readonly counts = new Int32Array(256);
  private finished = false;

  /** fd: a file opened for writing, positioned at its (empty) start. */
  constructor(fd: number | Sink) {
    this.sink = typeof fd === 'number' ? fdSink(fd) : fd;
    // The header is written last; reserve its space now (cdb_make_start seeks past it).
    this.buf.fill(0, 0, CDB_HEADER);
    this.used = CDB_HEADER;
  }

  /** Number of records added so far. */
  get records(): number {
    return this.count;
  }

  private flush(): void {
    if (this.used > 0) this.sink.append(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Append one record (key and data: bytes, or strings taken as UTF-8). */
  add(key: Buffer | string, data: Buffer | string): void {
    const k = toBuf(key);
    const d = toBuf(data);
    this.addBytes(k, 0, k.length, d, 0, d.length);
  }

  /**
   * Append one record whose key is kb[ks..ke) and data db[ds..de) (byte
   * offsets): the bytes are copied, so the caller may reuse both buffers.
   */
  addBytes(kb: Uint8Array, ks: number, ke: number, db: Uint8Array, ds: number, de: number): void {
    if (this.finished) throw new Error('cdb: add after finish');
    const klen = ke - ks;
    const dlen = de - ds;
    const size = 8 + klen + dlen;
    const at = this.pos;
    if (at + size > MAX32) throw codeError('ENOMEM', 'cdb: file would exceed 4 GiB');
    this.pos = at + size;
    const n = this.count;
    if (n === this.hashes.length) this.grow(n + 1);
    if (this.used + size > WRITE_BUFFER) {
      this.flush();
      if (size > WRITE_BUFFER) {
        // a record larger than the buffer: assemble it on its own
        const big = Buffer.allocUnsafe(size);
        big.writeUInt32LE(klen, 0);
        big.writeUInt32LE(dlen, 4);
        big.set(kb.subarray(ks, ke), 8);
        big.set(db.subarray(ds, de), 8 + klen);
        const hb = hashBytes(big.subarray(8, 8 + klen));
        this.hashes[n] = hb;
        this.counts[hb & 255]++;
        this.positions[n] = at;
        this.count = n + 1;
        this.sink.append(big);
        return;
      }
    }
    const buf = this.buf;
    let u = this.used;
    buf[u] = klen;
    buf[u + 1] = klen >>> 8;
    buf[u + 2] = klen >>> 16;
    buf[u + 3] = klen >>> 24;
    buf[u + 4] = dlen;
    buf[u + 5] = dlen >>> 8;
    buf[u + 6] = dlen >>> 16;
    buf[u + 7] = dlen >>> 24;
    u += 8;
    // copy the key and hash it in one pass (int32 arithmetic is the hash mod 2^32)
    let h = 5381;
    for (let j = ks; j < ke; j++) {
      const c = kb[j];
      h = Math.imul(h, 33) ^ c;
      buf[u++] = c;
    }
    if (dlen > 32) {
      buf.set(db.subarray(ds, de), u);
      u += dlen;
    } else for (let j = ds; j < de; j++) buf[u++] = db[j];
    this.used = u;
    this.counts[h & 255]++;
    this.hashes[n] = h;
    this.positions[n] = at;
    this.count = n + 1;
  }

  /** Make room for at least `records` records in the hash and position arrays. */
  private grow(records: number): void {
    this.hashes = grownInt32(this.hashes, this.count, records);
    this.positions = grownInt32(this.positions, this.count, records);
  }

  /** The file position the next record gets. */
  get position(): number {
    return this.pos;
  }

  /**
   * Append n records already in cdb layout (the bulk path of tcprules,
   * rules.ts RecordSink): recs[0..len) holds them in order (key length, data
   * length as little-endian uint32, key, data) from file position
   * `position`; record i is at positions[i], its key's cdb hash is
   * hashes[i] (both as int32; uint32 bits), and counts[b] of them have
   * h & 255 == b. The bytes are written at once (after what is buffered);
   * the caller may reuse all the arrays after the call.
   */
  addRecords(recs: Buffer, len: number, hashes: Int32Array, positions: Int32Array, counts: Int32Array, n: number): void {
    if (this.finished) throw new Error('cdb: add after finish');
    const at = this.pos;
    if (n > 0 && positions[0] !== (at | 0)) throw new Error('cdb: records not at the file position');
    if (at + len > MAX32) throw codeError('ENOMEM', 'cdb: file would exceed 4 GiB');
    const count = this.count;
    if (count + n > this.hashes.length) this.grow(count + n);
    this.hashes.set(hashes.subarray(0, n), count);
    this.positions.set(positions.subarray(0, n), count);
    for (let b = 0; b < 256; b++) this.counts[b] += counts[b];
    this.count = count + n;
    this.pos = at + len;
    if (this.used + len <= WRITE_BUFFER) {
      this.buf.set(recs.subarray(0, len), this.used);
      this.used += len;
    } else {
      this.flush();
      this.sink.append(recs.subarray(0, len));
    }
  }

  /** Write the hash tables and the header. The writer cannot be used after. */
  finish(): void {
    if (this.finished) throw new Error('cdb: finish called twice');
    this.finished = true;
    const n = this.count;
    const hashes = this.hashes;
    const positions = this.positions;
    const counts = this.counts;
    // All 256 tables in one block of uint32s: slot pairs (hash, position),
    // bucket after bucket; base[b] = index of bucket b's first uint32. An
    // empty slot has position 0 (records start at 2048).
    const base = new Int32Array(256);
    const header = new Uint32Array(512);
    let pos = this.pos;
    let at = 0;
    for (let b = 0; b < 256; b++) {
      const slots = counts[b] * 2;
      base[b] = at;
      header[b * 2] = pos;
      header[b * 2 + 1] = slots;
      if (pos + slots * 8 > MAX32) throw codeError('ENOMEM', 'cdb: file would exceed 4 GiB');
      pos += slots * 8;
      at += slots * 2;
    }
    // One pass in insertion order: a record's place depends only on the
    // records of its own bucket placed before it, as in cdb_make's per-bucket
    // passes. Int32 arithmetic throughout (the same bits as the uint32s);
    // the start slot (h >>> 8) % slots, h >>> 8 being below 2^24.
    const table = new Int32Array(n * 4);
    for (let i = 0; i < n; i++) {
      const h = hashes[i];
      const b = h & 255;
      const slots = counts[b] * 2;
      const t = base[b];
      let where = ((h >> 8) & 0xffffff) % slots;
      while (table[t + where * 2 + 1] !== 0) if (++where === slots) where = 0;
      table[t + where * 2] = h;
      table[t + where * 2 + 1] = positions[i];
    }
    this.pos = pos;
    const bytes = le32(table);
    if (this.used + bytes.length <= WRITE_BUFFER) {
      this.buf.set(bytes, this.used);
      this.used += bytes.length;
      this.flush();
    } else {
      this.flush();
      this.sink.append(bytes);
    }
    this.sink.header(le32(header));
  }
}

/**
 * The complete cdb file for records (in this order, repeats kept), built in
 * memory. Same bytes as CdbWriter on a file.
 */
export function cdbBuild(records: Iterable<readonly [Buffer | string, Buffer | string]>): Buffer {
  const chunks: Buffer[] = [];
  const w = new CdbWriter({ append: (b) => chunks.push(Buffer.from(b)), header: (h) => (chunks[0] = Buffer.concat([h, chunks[0].subarray(h.length)])) });
  for (const [k, d] of records) w.add(k, d);
  w.finish();
  return Buffer.concat(chunks);
}

/** Which step of cdbWriteAtomic failed (for `unable to create/write/move` messages). */
export type CdbStage = 'create' | 'write' | 'rename';

/** Error from cdbWriteAtomic: the failed stage plus the system error (its .code copied). */
export class CdbWriteError extends Error {
  readonly stage: CdbStage;
  readonly code: string | undefined;
  readonly error: unknown;
  constructor(stage: CdbStage, error: unknown) {
    super(`cdb: ${stage} failed: ${error instanceof Error ? error.message : String(error)}`);
    this.stage = stage;
    this.error = error;
    this.code = (error as NodeJS.ErrnoException | undefined)?.code;
  }
}

/**
 * CdbFile: a cdb being built atomically, as tcprules and qmail-newu do it:
 * create() opens tmp (O_WRONLY|O_CREAT|O_TRUNC, mode 0644 & ~umask, DJB's
 * open_trunc); add() appends records; commit(path) finishes the tables,
 * fsyncs, closes and renames tmp to path, so readers see either the old file
 * or the complete new one. abandon() just closes the fd (the tmp file stays,
 * as the originals leave it). Every failure is a CdbWriteError naming its
 * stage: 'create' (open tmp), 'write' (add/finish/fsync/close), 'rename'.
 */
export class CdbFile {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly writer: CdbWriter;
  private open = true;

  private constructor(fd: number, tmp: string) {
    this.fd = fd;
    this.tmp = tmp;
    try {
      this.writer = new CdbWriter(fd);
    } catch (e) {
      this.abandon();
      throw new CdbWriteError('write', e);
    }
  }

  /** Create (truncate) tmp for writing. Throws CdbWriteError('create'). */
  static create(tmp: string): CdbFile {
    let fd: number;
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    } catch (e) {
      throw new CdbWriteError('create', e);
    }
    return new CdbFile(fd, tmp);
  }

  /** Append a record. Throws CdbWriteError('write'). */
  add(key: Buffer | string, data: Buffer | string): void {
    try {
      this.writer.add(key, data);
    } catch (e) {
      throw new CdbWriteError('write', e);
    }
  }

  /** Append a record from byte ranges (CdbWriter.addBytes). Throws CdbWriteError('write'). */
  addBytes(kb: Uint8Array, ks: number, ke: number, db: Uint8Array, ds: number, de: number): void {
    try {
      this.writer.addBytes(kb, ks, ke, db, ds, de);
    } catch (e) {
      throw new CdbWriteError('write', e);
    }
  }

  /** The file position the next record gets (CdbWriter.position). */
  get position(): number {
    return this.writer.position;
  }

  /** Append records in cdb layout (CdbWriter.addRecords). Throws CdbWriteError('write'). */
  addRecords(recs: Buffer, len: number, hashes: Int32Array, positions: Int32Array, counts: Int32Array, n: number): void {
    try {
      this.writer.addRecords(recs, len, hashes, positions, counts, n);
    } catch (e) {
      throw new CdbWriteError('write', e);
    }
  }

  /** Finish, fsync, close, rename(tmp, path). Throws CdbWriteError('write' or 'rename'). */
  commit(path: string): void {
    try {
      this.writer.finish();
      fsyncSync(this.fd);
      this.open = false;
      closeSync(this.fd);
    } catch (e) {
      this.abandon();
      throw new CdbWriteError('write', e);
    }
    try {
      renameSync(this.tmp, path);
    } catch (e) {
      throw new CdbWriteError('rename', e);
    }
  }

  /** Close the fd without finishing (after an error). Safe to call twice. */
  abandon(): void {
    if (!this.open) return;
    this.open = false;
    try {
      closeSync(this.fd);
    } catch {
      /* already failing */
    }
  }
}

/**
 * Build a cdb atomically in one call (CdbFile.create, fill(add), commit):
 * fill adds the records in order. Failing steps throw CdbWriteError; anything
 * fill throws itself (a parse error, an input read error) passes through
 * unchanged after the fd is closed, leaving path untouched.
 */
export function cdbWriteAtomic(
  path: string,
  tmp: string,
  fill: (add: (key: Buffer | string, data: Buffer | string) => void) => void,
): void {
  const f = CdbFile.create(tmp);
  try {
    fill((k, d) => f.add(k, d));
  } catch (e) {
    f.abandon();
    throw e;
  }
  f.commit(path);
}

/** Where a reader gets its bytes: a whole-file buffer or an open fd. */
interface Source {
  size: number;
  /** exactly len bytes at pos (caller has checked pos+len <= size) */
  read(pos: number, len: number): Buffer;
  close(): void;
}

function bufferSource(buf: Buffer): Source {
  return {
    size: buf.length,
    read: (pos, len) => buf.subarray(pos, pos + len),
    close: () => undefined,
  };
}

function fdSource(fd: number): Source {
  const size = fstatSync(fd).size;
  let open = true;
  return {
    size,
    read(pos, len) {
      const b = Buffer.allocUnsafe(len);
      let off = 0;
      while (off < len) {
        const n = readSync(fd, b, off, len - off, pos + off);
        if (n === 0) throw protoError('short read'); // file shrank under us
        off += n;
      }
      return b;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * Cdb: a reader for one cdb file. Lookups validate every pointer and length
 * against the file size and throw EPROTO errors on a corrupt or truncated
 * file (see the module comment). Keys may be Buffers or strings (UTF-8).
 */
export class Cdb {
  private readonly src: Source;

  private constructor(src: Source) {
    this.src = src;
  }

  /**
   * Open path for pread-based lookups (constant memory; keeps an fd until
   * close()). Throws the open/fstat error (ENOENT, EACCES, ...).
   */
  static open(path: string): Cdb {
    const fd = openSync(path, constants.O_RDONLY);
    try {
      return new Cdb(fdSource(fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Read the whole file at path into memory (no fd kept; close() is a no-op). */
  static load(path: string): Cdb {
    return new Cdb(bufferSource(readFileSync(path)));
  }

  /** A reader over the bytes of a cdb file already in memory. */
  static fromBuffer(buf: Buffer): Cdb {
    return new Cdb(bufferSource(buf));
  }

  /** Size of the file in bytes. */
  get size(): number {
    return this.src.size;
  }

  /** Release the file descriptor (open()); safe to call more than once. */
  close(): void {
    this.src.close();
  }

  private check(pos: number, len: number, what: string): void {
    // ucspi-tcp's reader mmaps the file; for an empty file the failed mmap's
    // EINVAL is what tcprulescheck and tcpserver report (observed on Debian).
    if (this.src.size === 0) throw codeError('EINVAL', 'cdb: empty file');
    if (pos + len > this.src.size) throw protoError(`${what} outside the file`);
  }

  private read(pos: number, len: number, what: string): Buffer {
    this.check(pos, len, what);
    return this.src.read(pos, len);
  }

  /** Data of every record with this key, in insertion order (positions of data). */
  private *find(key: Buffer): Generator<Buffer> {
    const h = hashBytes(key);
    const head = this.read((h & 255) * 8, 8, 'header');
    const tpos = head.readUInt32LE(0);
    const slots = head.readUInt32LE(4);
    if (slots === 0) return;
    this.check(tpos, slots * 8, 'hash table');
    let where = (h >>> 8) % slots;
    for (let probes = 0; probes < slots; probes++) {
      const slot = this.read(tpos + where * 8, 8, 'hash slot');
      const sh = slot.readUInt32LE(0);
      const rpos = slot.readUInt32LE(4);
      if (rpos === 0) return;
      if (sh === h) {
        const rh = this.read(rpos, 8, 'record');
        const klen = rh.readUInt32LE(0);
        const dlen = rh.readUInt32LE(4);
        if (klen === key.length) {
          const k = this.read(rpos + 8, klen, 'key');
          const d = this.read(rpos + 8 + klen, dlen, 'data');
          if (k.equals(key)) yield Buffer.from(d);
        }
      }
      if (++where === slots) where = 0;
    }
  }

  /** Data of the first record with key, or undefined. Throws EPROTO if corrupt. */
  get(key: Buffer | string): Buffer | undefined {
    for (const d of this.find(toBuf(key))) return d;
    return undefined;
  }

  /** Data of every record with key, in insertion order ([] if none). */
  getAll(key: Buffer | string): Buffer[] {
    return [...this.find(toBuf(key))];
  }

  /**
   * Every record in file order (= insertion order), as [key, data]: walks the
   * records from 2048 up to the first hash table (the smallest header table
   * position), as cdbdump does. Throws EPROTO if a record overruns.
   */
  *entries(): Generator<[Buffer, Buffer]> {
    const header = this.read(0, CDB_HEADER, 'header');
    let end = MAX32;
    for (let b = 0; b < 256; b++) end = Math.min(end, header.readUInt32LE(b * 8));
    if (end < CDB_HEADER || end > this.src.size) throw protoError('hash tables outside the file');
    let pos = CDB_HEADER;
    while (pos < end) {
      const rh = this.read(pos, 8, 'record');
      const klen = rh.readUInt32LE(0);
      const dlen = rh.readUInt32LE(4);
      if (pos + 8 + klen + dlen > end) throw protoError('record overruns the hash tables');
      const k = this.read(pos + 8, klen, 'key');
      const d = this.read(pos + 8 + klen, dlen, 'data');
      yield [Buffer.from(k), Buffer.from(d)];
      pos += 8 + klen + dlen;
    }
  }
}

/**
 * a with room for at least `size` entries: a itself when it has it, else a
 * new array of max(size, 2 * a.length) holding a's first `used` entries
 * (a cdb writer's per-record hash and position tables).
 */
export function grownInt32(a: Int32Array<ArrayBuffer>, used: number, size: number): Int32Array<ArrayBuffer> {
  if (size <= a.length) return a;
  const b = new Int32Array(Math.max(size, 2 * a.length));
  b.set(a.subarray(0, used));
  return b;
}
