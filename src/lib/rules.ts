/**
 * rules: ucspi-tcp's connection rules (tcprules(1), tcpserver(1) "RULES",
 * tcprulescheck(1); ../shared/FORMATS.md section 7): the rules-file line
 * syntax compiled into cdb records, the lookup order tcpserver and
 * tcprulescheck follow, and the decoding of a rule's value.
 *
 * Public API:
 *   parseRuleLine(line)            one input line -> cdb records (or skip)
 *   compileRules(chunks, add)      a whole rules text, streamed (async), -> add(key, data)
 *   new RuleLines(sink).push(chunk)/.end()  the same, synchronous, into a RuleSink
 *                                  (key/data byte ranges) or a RecordSink (whole
 *                                  cdb records in bulk: tcprules' fast path)
 *   RulesSyntaxError               a bad line (tcprules: `unable to parse this line`)
 *   rulesLookup(reader, ip, host?, info?) -> { key, value } | undefined
 *   ruleItems(value) / decodeRule(value) -> { deny, env }
 *   ruleReport(hit)                tcprulescheck's output for a lookup result
 *   normalizeIp6(text)             RFC 5952 text of an IPv6 address
 *
 * Records (byte-identical to Debian's tcprules for every line it accepts):
 *   key   = the address verbatim (`1.2.3.4`, `1.2.3.`, ``, `=host`, `=.dom`,
 *           `=`, `user@1.2.3.4`, `user@=host`); a `-` in an address without
 *           `=`/`@` is an IPv4 range `a.b.c.X-Y` giving one record per number
 *   value = `D\0` for deny (nothing for allow), then `+NAME=value\0` per variable.
 *
 * IPv6 (the project's extension; ucspi-tcp 0.88 has none). Modelled on the
 * IPv6 patch by Felix von Leitner (ucspi-tcp-0.88-ipv6.diff, packaged as
 * ucspi-tcp-ipv6) as its documentation describes it: TCPREMOTEIP is the
 * compact lowercase text (RFC 5952: `::1`, `2001:db8::5`), a rule's address
 * may be an IPv6 address (`::1:allow`), and prefixes are text ending in `:`,
 * tried longest first, the way IPv4 prefixes end in `.`:
 *   - line syntax: when the first `:` of a line is not followed by `allow` or
 *     `deny`, and a later `:` (before the first `,`) is, and the text before
 *     that later colon (after an optional `info@`) is an IPv6 address or an
 *     IPv6 prefix ending in `:`, that later colon ends the address. Debian's
 *     tcprules rejects such lines; every line it accepts is compiled exactly
 *     as it does. A prefix keeps its own trailing colon, so `2001:db8::allow`
 *     is the prefix `2001:db8:` and `::1:deny` the address `::1`.
 *   - keys: tcprules stores an IPv6 address in its compact form (`2001:DB8:0::1`
 *     -> `2001:db8::1`) and a group prefix with each group lowercased and
 *     without leading zeros (`2001:0DB8:` -> `2001:db8:`); `::ffff:a.b.c.d` is
 *     stored as `a.b.c.d`.
 *   - lookup of an IPv6 TCPREMOTEIP: its compact form exactly, then for n = 7
 *     down to 1 groups: the compact text's own prefix of n groups when it
 *     contains `::` (what the IPv6 patch's walk back to each `:` tries, e.g.
 *     `2001:db8::` for `2001:db8::1`), then `g1:...:gn:` (groups without
 *     leading zeros, e.g. `2001:db8:0:0:` matches `2001:db8::1`). So
 *     `2001:db8:` is a /32, `2001:db8:0:` a /48, and a rule written for the
 *     patched tcpserver on compact text keeps matching. An IPv4-mapped
 *     address (`::ffff:1.2.3.4`) is looked up as the IPv4 address.
 *   - no IPv6 ranges (a `-` gives Debian's parse error) and no CIDR syntax.
 * IPv4 behaviour is unchanged.
 */
import { grownInt32 } from './cdb.ts';
/** node:net, loaded at the first IPv6 question (importing it costs ~3 ms of tcprules' start-up). */
let net: typeof import('node:net') | undefined;

/** net.isIPv6, with node:net loaded on first use. */
function isIPv6(text: string): boolean {
  net ??= process.getBuiltinModule('node:net');
  return net.isIPv6(text);
}

/** A cdb record: key and data bytes. */
export type RuleRecord = [key: Buffer, data: Buffer];

/**
 * A line tcprules cannot parse. `line` is what it prints after `unable to
 * parse this line: `: the line without its trailing newlines, spaces and
 * tabs, cut at the first NUL byte (the original prints it as a C string).
 */
export class RulesSyntaxError extends Error {
  readonly line: Buffer;
  constructor(line: Buffer) {
    const z = line.indexOf(0);
    const shown = z < 0 ? line : line.subarray(0, z);
    super(`unable to parse this line: ${shown.toString('latin1')}`);
    this.line = Buffer.from(shown);
  }
}

const COLON = 0x3a;
const COMMA = 0x2c;
const EQ = 0x3d;
const AT = 0x40;
const DASH = 0x2d;
const DOT = 0x2e;
const HASH = 0x23;
const NL = 0x0a;

const ALLOW = Buffer.from('allow');
const DENY = Buffer.from('deny');

/** An IPv6 rule address: a full address, `g1:...:gn:` (n <= 7), or a compact prefix ending in `:` with `::`. */
function ip6RuleAddress(text: string): boolean {
  if (isIPv6(text)) return true;
  if (!text.endsWith(':')) return false;
  if (text.includes('::')) return isIPv6(text + '1');
  return /^([0-9a-fA-F]{1,4}:){1,7}$/.test(text);
}

/** b[at..end) starts with the ASCII word w. */
function wordAt(b: Buffer, at: number, end: number, w: Buffer): boolean {
  if (end - at < w.length) return false;
  for (let j = 0; j < w.length; j++) if (b[at + j] !== w[j]) return false;
  return true;
}

/** The colon at c is followed by `allow` or `deny`. */
function isAction(b: Buffer, c: number, e: number): boolean {
  return wordAt(b, c + 1, e, ALLOW) || wordAt(b, c + 1, e, DENY);
}

/** Index of byte c in b[s..e), or -1. */
function find(b: Buffer, c: number, s: number, e: number): number {
  for (let i = s; i < e; i++) if (b[i] === c) return i;
  return -1;
}

/** Index of the `:` ending the address in b[s..e) (see the module comment), or -1. */
function addressEnd(b: Buffer, s: number, e: number): number {
  const first = find(b, COLON, s, e);
  if (first < 0) return -1;
  if (isAction(b, first, e)) return first;
  let limit = find(b, COMMA, s, e);
  if (limit < 0) limit = e;
  for (let c = find(b, COLON, first + 1, limit); c >= 0; c = find(b, COLON, c + 1, limit)) {
    if (!isAction(b, c, e)) continue;
    return ip6RuleAddress(b.toString('latin1', lastAt(b, s, c) + 1, c)) ? c : first;
  }
  return first;
}

/**
 * A range bound b[s..e) as tcprules reads it: DJB's scan_ulong on the field
 * as a C string, so the field ends at its first NUL; the digits before must
 * make up all of it (empty = 0); the value wraps mod 2^64. Returns the
 * value, or 256 for any value above 255 (all a range needs: the top is
 * clamped to 255, a bottom above it gives nothing). Plain numbers while
 * exact, BigInt past 15 digits. A non-digit throws the syntax error for
 * the line b[ls..le).
 */
function rangeNumber(b: Buffer, s: number, e: number, ls: number, le: number): number {
  let n = 0;
  let big: bigint | undefined;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === 0) break;
    if (c < 0x30 || c > 0x39) syntax(b, ls, le);
    if (big === undefined && n < 1e14) n = n * 10 + (c - 0x30);
    else big = ((big ?? BigInt(n)) * 10n + BigInt(c - 0x30)) & 0xffffffffffffffffn;
  }
  if (big !== undefined) return big > 255n ? 256 : Number(big);
  return n > 255 ? 256 : n;
}

/** Index of the last `@` in b[s..e) (the address of `info@address`), or s - 1. */
function lastAt(b: Buffer, s: number, e: number): number {
  for (let j = e - 1; j >= s; j--) if (b[j] === AT) return j;
  return s - 1;
}

/** Throw the syntax error for the (stripped) line b[s..e). */
function syntax(b: Buffer, s: number, e: number): never {
  throw new RulesSyntaxError(b.subarray(s, e));
}

/**
 * Where compiled records go: key kb[ks..ke), data db[ds..de). The bytes are
 * only valid during the call (scratch memory reused for the next record):
 * a sink keeps copies. A CdbWriter or CdbFile (./cdb.ts) is one.
 */
export interface RuleSink {
  addBytes(kb: Buffer, ks: number, ke: number, db: Buffer, ds: number, de: number): void;
}

/**
 * A sink that also takes compiled records in bulk (CdbWriter, CdbFile):
 * recs[0..len) holds n records in cdb layout (key length and data length as
 * little-endian uint32, key, data), in order from the sink's `position` (the
 * file position its next record gets); record i is at file position
 * positions[i] and its key's cdb hash is hashes[i] (both as int32), and
 * counts[b] records have a hash with h & 255 == b. The arrays are reused
 * after the call.
 */
export interface RecordSink extends RuleSink {
  readonly position: number;
  addRecords(recs: Buffer, len: number, hashes: Int32Array, positions: Int32Array, counts: Int32Array, n: number): void;
}

/** A sink calling add(key, data) with fresh copies of the bytes. */
function addSink(add: (key: Buffer, data: Buffer) => void): RuleSink {
  return {
    addBytes: (kb, ks, ke, db, ds, de) => add(Buffer.from(kb.subarray(ks, ke)), Buffer.from(db.subarray(ds, de))),
  };
}

/** The data of the line being compiled (grown when a line needs more). */
let dataScratch = Buffer.allocUnsafe(1024);
/** The key of one record of an IPv4 range. */
let keyScratch = Buffer.allocUnsafe(256);

/**
 * Send the records of the address b[s..e) to out: verbatim, an IPv4 range
 * expanded, or an IPv6 address normalized; data = db[0..dlen). ls..le is the
 * stripped line (for a range's syntax error).
 */
function addAddress(b: Buffer, s: number, e: number, db: Buffer, dlen: number, out: RuleSink, ls: number, le: number): void {
  let dash = -1;
  let colon = false;
  let verbatim = false; // `=` or `@`: no range
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === EQ || c === AT) verbatim = true;
    else if (c === DASH) {
      if (dash < 0) dash = i;
    } else if (c === COLON) colon = true;
  }
  if (dash >= 0 && !verbatim) {
    let left = s;
    for (let j = dash - 1; j >= s; j--) {
      if (b[j] === DOT) {
        left = j + 1;
        break;
      }
    }
    let right = find(b, DOT, dash + 1, e);
    if (right < 0) right = e;
    const bot = rangeNumber(b, left, dash, ls, le);
    const top = Math.min(rangeNumber(b, dash + 1, right, ls, le), 255);
    if (bot > top) return;
    const head = left - s;
    const tail = e - right;
    if (keyScratch.length < head + tail + 3) keyScratch = Buffer.allocUnsafe(2 * (head + tail + 3));
    const k = keyScratch;
    for (let j = 0; j < head; j++) k[j] = b[s + j];
    for (let n = bot; n <= top; n++) {
      let o = head;
      if (n >= 100) k[o++] = 0x30 + ((n / 100) | 0);
      if (n >= 10) k[o++] = 0x30 + (((n / 10) | 0) % 10);
      k[o++] = 0x30 + (n % 10);
      for (let j = right; j < e; j++) k[o++] = b[j];
      out.addBytes(k, 0, o, db, 0, dlen);
    }
    return;
  }
  if (colon) {
    const at = lastAt(b, s, e);
    const ip = normalizeIp6Key(b.toString('latin1', at + 1, e));
    const k = Buffer.concat([b.subarray(s, at + 1), Buffer.from(ip, 'latin1')]);
    out.addBytes(k, 0, k.length, db, 0, dlen);
    return;
  }
  out.addBytes(b, s, e, db, 0, dlen);
}

/**
 * The core of tcprules: compile the line b[s..e) (with or without its
 * `\n`), sending its records to out. Returns false for a line that is
 * skipped (empty, `#...`, blank, no `:`). Throws RulesSyntaxError before
 * any record of a bad line is sent.
 */
function compileLine(b: Buffer, s: number, e: number, out: RuleSink): boolean {
  // Written out in one function, searches inline: this runs once per line,
  // mostly before the JIT has optimized anything (tcprules is short-lived).
  if (e === s || b[s] === HASH || b[s] === NL) return false;
  while (e > s && (b[e - 1] === NL || b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
  // the first colon; `plain`: no `=`, `@` or `-` before it
  let colon = s;
  let plain = true;
  for (; colon < e; colon++) {
    const c = b[colon];
    if (c === COLON) break;
    if (c === EQ || c === AT || c === DASH) plain = false;
  }
  if (colon === e) return false;
  let i = colon + 1;
  let deny = false;
  if (e - i >= 5 && b[i] === 0x61 && b[i + 1] === 0x6c && b[i + 2] === 0x6c && b[i + 3] === 0x6f && b[i + 4] === 0x77) i += 5;
  else if (e - i >= 4 && b[i] === 0x64 && b[i + 1] === 0x65 && b[i + 2] === 0x6e && b[i + 3] === 0x79) {
    deny = true;
    i += 4;
  } else {
    // not `allow`/`deny` after the first colon: maybe an IPv6 address ends later
    const later = addressEnd(b, s, e);
    if (later === colon) syntax(b, s, e);
    colon = later;
    plain = false;
    i = colon + 1;
    if (wordAt(b, i, e, DENY)) {
      deny = true;
      i += 4;
    } else if (wordAt(b, i, e, ALLOW)) i += 5;
    else syntax(b, s, e);
  }
  // data: `D\0` for deny, then `+NAME=value\0` per `,NAME=XvalueX` (never
  // longer than the line + 2)
  if (dataScratch.length < e - s + 2) dataScratch = Buffer.allocUnsafe(2 * (e - s + 2));
  const d = dataScratch;
  let o = 0;
  if (deny) {
    d[o++] = 0x44;
    d[o++] = 0;
  }
  while (i < e) {
    if (b[i] !== COMMA) syntax(b, s, e);
    let eq = i + 1;
    while (eq < e && b[eq] !== EQ) eq++;
    if (eq + 1 >= e) syntax(b, s, e);
    const quote = b[eq + 1];
    let close = eq + 2;
    while (close < e && b[close] !== quote) close++;
    if (close === e) syntax(b, s, e);
    d[o++] = 0x2b;
    for (let j = i + 1; j <= eq; j++) d[o++] = b[j];
    for (let j = eq + 2; j < close; j++) d[o++] = b[j];
    d[o++] = 0;
    i = close + 1;
  }
  // an address without `=`, `@`, `-`, `:` is its own key
  if (plain) out.addBytes(b, s, colon, d, 0, o);
  else addAddress(b, s, colon, d, o, out, s, e);
  return true;
}

/**
 * Compile one rules line (with or without its `\n`) into cdb records, as
 * tcprules does. Returns undefined for lines that produce nothing: empty,
 * starting with `#`, blank after stripping trailing `\n`/space/tab, or
 * without a `:`. A reversed range gives []. Throws RulesSyntaxError for a bad
 * action (not `allow`/`deny`) or a malformed `,NAME=XvalueX` list or range.
 */
export function parseRuleLine(line: Buffer): RuleRecord[] | undefined {
  const recs: RuleRecord[] = [];
  return compileLine(line, 0, line.length, addSink((k, d) => recs.push([k, d]))) ? recs : undefined;
}

/**
 * Records compiled from a chunk's lines, waiting to go to the sink in one
 * call (RecordSink.addRecords): buf[0..len) in cdb record layout, n records,
 * the first one at file position base. fastLines writes into it directly;
 * as a RuleSink it takes compileLine's records for the other lines.
 */
class Batch implements RuleSink {
  buf = Buffer.allocUnsafe(0);
  len = 0;
  base = 0;
  hashes = new Int32Array(0);
  positions = new Int32Array(0);
  readonly counts = new Int32Array(256);
  n = 0;

  /** Make room for `bytes` more bytes and `records` more records. */
  reserve(bytes: number, records: number): void {
    if (this.len + bytes > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(this.len + bytes, 2 * this.buf.length));
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
    this.hashes = grownInt32(this.hashes, this.n, this.n + records);
    this.positions = grownInt32(this.positions, this.n, this.n + records);
  }

  addBytes(kb: Buffer, ks: number, ke: number, db: Buffer, ds: number, de: number): void {
    const klen = ke - ks;
    const dlen = de - ds;
    this.reserve(8 + klen + dlen, 1);
    const out = this.buf;
    const u = this.len;
    out[u] = klen;
    out[u + 1] = klen >> 8;
    out[u + 2] = klen >> 16;
    out[u + 3] = klen >>> 24;
    out[u + 4] = dlen;
    out[u + 5] = dlen >> 8;
    out[u + 6] = dlen >> 16;
    out[u + 7] = dlen >>> 24;
    // byte loops: records are short, and a native copy per field costs more
    let k = u + 8;
    let h = 5381;
    for (let j = ks; j < ke; j++) {
      const c = kb[j];
      h = Math.imul(h, 33) ^ c;
      out[k++] = c;
    }
    for (let j = ds; j < de; j++) out[k++] = db[j];
    const n = this.n;
    this.hashes[n] = h;
    this.positions[n] = this.base + u;
    this.counts[h & 255]++;
    this.n = n + 1;
    this.len = k;
  }
}

/**
 * tcprules' fast path: compile the lines of b[s..e) (b[e - 1] is `\n`, so
 * every line ends in one) straight into batch t as cdb records, as long as
 * they are lines compileLine would turn into exactly one record with the
 * address as its key: skipped lines (empty, `#...`, no `:`), and
 * `address:allow|deny[,NAME=XvalueX...]` whose first `:` ends the address
 * and whose address is not an IPv4 range (a `-` without `=` or `@`), with a
 * quote X that is not a space or tab. Returns the start of the first line it
 * leaves to compileLine (anything else, bad lines included), or e.
 * t must have room for 2 * (e - s) bytes and (e - s) / 6 + 1 records more
 * (Batch.reserve; a record is at most 4 bytes longer than its line, a line
 * at least 6).
 * Written as one loop over the bytes, with no calls, for the JIT: most of a
 * short tcprules run is spent here, in code optimized while it runs (OSR).
 */
function fastLines(b: Buffer, s: number, e: number, t: Batch): number {
  const out = t.buf;
  const hashes = t.hashes;
  const positions = t.positions;
  const counts = t.counts;
  const base = t.base;
  let u = t.len;
  let n = t.n;
  while (s < e) {
    let c = b[s];
    if (c === NL) {
      s++;
      continue;
    }
    if (c === HASH) {
      while (b[s] !== NL) s++;
      s++;
      continue;
    }
    // the key up to the first `:`, copied and hashed (h * 33 ^ c, mod 2^32)
    let k = u + 8;
    let h = 5381;
    let j = s;
    let dash = false;
    while (c !== COLON && c !== NL) {
      if (c === DASH) dash = true;
      h = Math.imul(h, 33) ^ c;
      out[k++] = c;
      c = b[++j];
    }
    if (c === NL) {
      s = j + 1; // no `:`: skipped
      continue;
    }
    if (dash && find(b, EQ, s, j) < 0 && find(b, AT, s, j) < 0) break; // a range
    const klen = k - u - 8;
    let i = j + 1;
    if (b[i] === 0x61 && b[i + 1] === 0x6c && b[i + 2] === 0x6c && b[i + 3] === 0x6f && b[i + 4] === 0x77) i += 5;
    else if (b[i] === 0x64 && b[i + 1] === 0x65 && b[i + 2] === 0x6e && b[i + 3] === 0x79) {
      i += 4;
      out[k++] = 0x44;
      out[k++] = 0;
    } else break; // IPv6 or a bad line
    // `,NAME=XvalueX` -> `+NAME=value\0`; NL stops every scan (never inside the line)
    let ok = true;
    for (c = b[i]; c === COMMA; c = b[i]) {
      out[k++] = 0x2b;
      c = b[++i];
      while (c !== EQ && c !== NL) {
        out[k++] = c;
        c = b[++i];
      }
      if (c === NL) {
        ok = false;
        break;
      }
      const quote = b[i + 1];
      if (quote === NL || quote === 0x20 || quote === 0x09) {
        ok = false;
        break;
      }
      out[k++] = EQ;
      i += 2;
      c = b[i];
      while (c !== quote && c !== NL) {
        out[k++] = c;
        c = b[++i];
      }
      if (c === NL) {
        ok = false;
        break;
      }
      out[k++] = 0;
      i++;
    }
    if (!ok) break;
    while (c === 0x20 || c === 0x09) c = b[++i];
    if (c !== NL) break; // text after the variables (compileLine: a bad line)
    const dlen = k - u - 8 - klen;
    out[u] = klen;
    out[u + 1] = klen >> 8;
    out[u + 2] = klen >> 16;
    out[u + 3] = klen >>> 24;
    out[u + 4] = dlen;
    out[u + 5] = dlen >> 8;
    out[u + 6] = dlen >> 16;
    out[u + 7] = dlen >>> 24;
    hashes[n] = h;
    positions[n] = base + u;
    counts[h & 255]++;
    n++;
    u = k;
    s = i + 1;
  }
  t.len = u;
  t.n = n;
  return s;
}

/** Hand the batch's records to out (in one call for a RecordSink) and empty it. */
function flushBatch(t: Batch, out: RuleSink): void {
  if (t.n === 0) return;
  const sink = out as Partial<RecordSink>;
  if (sink.addRecords !== undefined) sink.addRecords(t.buf, t.len, t.hashes, t.positions, t.counts, t.n);
  else {
    const b = t.buf;
    for (let i = 0; i < t.n; i++) {
      const o = t.positions[i] - t.base;
      const klen = b.readUInt32LE(o);
      const dlen = b.readUInt32LE(o + 4);
      out.addBytes(b, o + 8, o + 8 + klen, b, o + 8 + klen, o + 8 + klen + dlen);
    }
  }
  t.len = 0;
  t.n = 0;
  t.counts.fill(0);
}

/**
 * RuleLines: a rules text compiled as it arrives in chunks of any split
 * (reads of stdin, a stream): push(chunk) compiles every complete line,
 * end() the last line if it has no `\n`. Records go to the sink in input
 * order; the first bad line throws RulesSyntaxError (records of earlier
 * lines have been sent). Only a line split across chunks is copied. The
 * records of a chunk's complete lines (fastLines, compileLine for the lines
 * it leaves) gather in a Batch handed to the sink at the end of the chunk
 * (in one RecordSink.addRecords call when the sink has it).
 */
export class RuleLines {
  private readonly out: RuleSink;
  private rest: Buffer | undefined;
  private readonly batch = new Batch();

  constructor(out: RuleSink) {
    this.out = out;
  }

  /** Compile the complete lines of chunk (after what is left of earlier chunks). */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.rest !== undefined) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      const line = Buffer.concat([this.rest, chunk.subarray(0, nl + 1)]);
      this.rest = undefined;
      compileLine(line, 0, line.length, this.out);
      start = nl + 1;
    }
    const end = chunk.lastIndexOf(NL) + 1; // the complete lines end here
    if (end > start) {
      this.lines(chunk, start, end);
      start = end;
    }
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
  }

  /** Compile chunk[s..e), complete lines, through the batch. */
  private lines(chunk: Buffer, s: number, e: number): void {
    const t = this.batch;
    t.base = (this.out as Partial<RecordSink>).position ?? 0;
    for (;;) {
      t.reserve(2 * (e - s), Math.floor((e - s) / 6) + 1);
      s = fastLines(chunk, s, e, t);
      if (s === e) break;
      const nl = chunk.indexOf(NL, s) + 1;
      try {
        compileLine(chunk, s, nl, t);
      } catch (err) {
        flushBatch(t, this.out); // the records of the lines before
        throw err;
      }
      s = nl;
    }
    flushBatch(t, this.out);
  }

  /** Compile a last line that had no `\n`. */
  end(): void {
    const rest = this.rest;
    this.rest = undefined;
    if (rest !== undefined && rest.length) compileLine(rest, 0, rest.length, this.out);
  }
}

/**
 * Compile a rules text arriving in chunks (any split: reads of stdin, a
 * stream, an array) line by line, calling add(key, data) for each record in
 * input order (fresh Buffers). A last line without `\n` counts. Rejects with
 * the first RulesSyntaxError (records of earlier lines have been added), or
 * with whatever the chunk source or add() throws.
 */
export async function compileRules(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  add: (key: Buffer, data: Buffer) => void,
): Promise<void> {
  const lines = new RuleLines(addSink(add));
  for await (const chunk of chunks) lines.push(chunk);
  lines.end();
}

/** The 8 groups of an IPv6 address text (an IPv4 tail allowed), or undefined. */
function ip6Groups(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let t = text;
  const last = t.lastIndexOf(':');
  if (t.includes('.', last)) {
    const [a, b, c, d] = t.slice(last + 1).split('.').map(Number);
    t = `${t.slice(0, last + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const dbl = t.indexOf('::');
  if (dbl < 0) return parse(t);
  const head = parse(t.slice(0, dbl));
  const tail = parse(t.slice(dbl + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text of 8 groups: lowercase, no leading zeros, longest zero run (>= 2) as `::`. */
function formatIp6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((n) => n.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** `a.b.c.d` for an IPv4-mapped address (`::ffff:a.b.c.d`), else undefined. */
function mappedIpv4(g: number[]): string | undefined {
  if (g[0] || g[1] || g[2] || g[3] || g[4] || g[5] !== 0xffff) return undefined;
  return `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
}

/**
 * The RFC 5952 text of an IPv6 address (`2001:DB8:0:0::1` -> `2001:db8::1`),
 * `a.b.c.d` for an IPv4-mapped one, or the text unchanged if it is not IPv6.
 */
export function normalizeIp6(text: string): string {
  const g = ip6Groups(text);
  if (!g) return text;
  return mappedIpv4(g) ?? formatIp6(g);
}

/** tcprules' form of an IPv6 rule address: full address or group prefix (see module comment). */
function normalizeIp6Key(text: string): string {
  if (isIPv6(text)) return normalizeIp6(text);
  if (!text.endsWith(':') || text.includes('::')) return text.toLowerCase();
  const groups = text.slice(0, -1).split(':');
  if (groups.length > 7 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return text;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':') + ':';
}

/** The IPv6 prefixes to try for an address with groups g (compact text c), longest first. */
function ip6Prefixes(g: number[], c: string): string[] {
  const byGroups = new Map<number, string>();
  for (let i = 1; i < c.length; i++) {
    if (c[i - 1] !== ':') continue;
    const p = c.slice(0, i);
    if (!p.includes('::')) continue;
    byGroups.set(8 - c.slice(i).split(':').length, p);
  }
  const out: string[] = [];
  for (let n = 7; n >= 1; n--) {
    const compact = byGroups.get(n);
    const plain = g.slice(0, n).map((x) => x.toString(16)).join(':') + ':';
    if (compact !== undefined && compact !== plain) out.push(compact);
    out.push(plain);
  }
  return out;
}

/** Anything with get(key) -> data | undefined, e.g. a Cdb (./cdb.ts). */
export interface RulesReader {
  get(key: Buffer | string): Buffer | undefined;
}

/** A matching rule: the cdb key that hit and its value. */
export interface RuleHit {
  key: string;
  value: Buffer;
}

/**
 * Find the rule for a connection the way tcpserver and tcprulescheck do
 * (rules.c; FORMATS.md section 7), first hit wins:
 *   1. info@ip (info given)           2. info@=host (info and host given)
 *   3. ip                             4. =host (host given)
 *   5. prefixes of ip ending in `.` (IPv4) or `:` (IPv6, see the module
 *      comment), longest first
 *   6. host given: `=` + each suffix of host starting at a `.`, longest
 *      first, then `=` alone
 *   7. the empty key.
 * ip is TCPREMOTEIP (IPv6 in any valid text form is normalized first; an
 * IPv4-mapped address is looked up as IPv4; any other text, IPv4 or not,
 * gets rules.c's walk back over its dots); host = TCPREMOTEHOST and info =
 * TCPREMOTEINFO when set (an empty but set string takes part). Returns
 * undefined when nothing matches. Reader errors (EPROTO for a corrupt cdb,
 * EIO...) are thrown.
 */
export function rulesLookup(reader: RulesReader, ip: string, host?: string, info?: string): RuleHit | undefined {
  let prefixes: string[];
  const g = ip.includes(':') ? ip6Groups(ip) : undefined;
  if (g) {
    const v4 = mappedIpv4(g);
    if (v4 !== undefined) return rulesLookup(reader, v4, host, info);
    ip = formatIp6(g);
    prefixes = ip6Prefixes(g, ip);
  } else {
    prefixes = [];
    for (let i = ip.length; i > 0; i--) if (ip[i - 1] === '.') prefixes.push(ip.slice(0, i));
  }
  const tryKey = (key: string): RuleHit | undefined => {
    const value = reader.get(key);
    return value === undefined ? undefined : { key, value };
  };
  let hit: RuleHit | undefined;
  if (info !== undefined) {
    if ((hit = tryKey(`${info}@${ip}`))) return hit;
    if (host !== undefined && (hit = tryKey(`${info}@=${host}`))) return hit;
  }
  if ((hit = tryKey(ip))) return hit;
  if (host !== undefined && (hit = tryKey(`=${host}`))) return hit;
  for (const p of prefixes) if ((hit = tryKey(p))) return hit;
  if (host !== undefined) {
    for (let i = 0; i < host.length; i++) if (host[i] === '.' && (hit = tryKey(`=${host.slice(i)}`))) return hit;
    if ((hit = tryKey('='))) return hit;
  }
  return tryKey('');
}

/** The NUL-terminated items of a rule value, in order (bytes after the last NUL dropped). */
export function ruleItems(value: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let start = 0;
  for (let z = value.indexOf(0); z >= 0; z = value.indexOf(0, start)) {
    items.push(value.subarray(start, z));
    start = z + 1;
  }
  return items;
}

/** What a rule tells tcpserver: deny the connection, else set these variables. */
export interface RuleDecision {
  deny: boolean;
  /** [NAME, value] in rule order (later ones win when applied in order) */
  env: Array<[string, string]>;
}

/**
 * Decode a rule value: items in order; `D` = deny (stop), `+NAME=value` = a
 * variable (NAME up to the first `=`; an item without `=` is ignored, as
 * tcpserver ignores it), anything else ignored. Bytes are decoded with
 * `encoding` (default UTF-8; use 'latin1' for a byte-exact round trip).
 */
export function decodeRule(value: Buffer, encoding: BufferEncoding = 'utf8'): RuleDecision {
  const env: Array<[string, string]> = [];
  for (const item of ruleItems(value)) {
    if (item[0] === 0x44 /* D */) return { deny: true, env };
    if (item[0] !== 0x2b /* + */) continue;
    const eq = item.indexOf(EQ);
    if (eq < 0) continue;
    env.push([item.subarray(1, eq).toString(encoding), item.subarray(eq + 1).toString(encoding)]);
  }
  return { deny: false, env };
}

/**
 * tcprulescheck's report for a lookup result, as bytes: `rule KEY:` (or
 * `default:` when nothing matched), then per item of the value `deny
 * connection` (and stop) for `D`, `set environment variable NAME=value` for
 * `+NAME=value`, other items skipped; finally `allow connection`. Each line
 * ends in `\n`.
 */
export function ruleReport(hit: RuleHit | undefined): Buffer {
  const out: Buffer[] = [];
  const line = (...parts: Array<string | Buffer>) => {
    for (const p of parts) out.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
    out.push(Buffer.from('\n'));
  };
  if (!hit) {
    line('default:');
    line('allow connection');
    return Buffer.concat(out);
  }
  line('rule ', Buffer.from(hit.key), ':');
  for (const item of ruleItems(hit.value)) {
    if (item[0] === 0x44 /* D */) {
      line('deny connection');
      return Buffer.concat(out);
    }
    if (item[0] === 0x2b /* + */) line('set environment variable ', item.subarray(1));
  }
  line('allow connection');
  return Buffer.concat(out);
}
