/**
 * cdb: our writer against tinycdb's `cdb -c` (byte-identical files for the
 * same records), our reader on tinycdb's files and tinycdb's `cdb -q`/`-d` on
 * ours, repeated keys, the empty database, 100 000 records, and corrupt or
 * truncated files (an EPROTO error, never a wrong answer).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { execa } from 'execa';
import { Cdb, CdbWriteError, CdbWriter, cdbBuild, cdbHash, cdbWriteAtomic } from '../src/lib/cdb.ts';
import { theirs, tmpdir, prng } from './helpers.ts';

const tinycdb = theirs('cdb');

type Rec = [Buffer, Buffer];

/** tinycdb's `cdb -c` input: `+klen,dlen:key->data\n` per record, then an empty line. */
function cdbInput(recs: Rec[]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, d] of recs) parts.push(Buffer.from(`+${k.length},${d.length}:`), k, Buffer.from('->'), d, Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

function randomRecords(n: number, seed: number): Rec[] {
  const r = prng(seed);
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    if (recs.length > 0 && r() < 0.1) {
      // a repeated key
      const k = recs[Math.floor(r() * recs.length)][0];
      recs.push([k, Buffer.from(`again ${i}`)]);
      continue;
    }
    const klen = Math.floor(r() * 20);
    const dlen = Math.floor(r() * 40);
    const k = Buffer.alloc(klen);
    const d = Buffer.alloc(dlen);
    for (let j = 0; j < klen; j++) k[j] = Math.floor(r() * 256);
    for (let j = 0; j < dlen; j++) d[j] = Math.floor(r() * 256);
    recs.push([k, d]);
  }
  return recs;
}

async function theirCdb(dir: string, name: string, recs: Rec[]): Promise<Buffer> {
  writeFileSync(`${dir}/${name}.in`, cdbInput(recs));
  await execa(tinycdb!, ['-c', `${dir}/${name}.cdb`, `${dir}/${name}.in`]);
  return readFileSync(`${dir}/${name}.cdb`);
}

/** Expected getAll() answers from the record list. */
function expected(recs: Rec[]): Map<string, Buffer[]> {
  const m = new Map<string, Buffer[]>();
  for (const [k, d] of recs) {
    const key = k.toString('hex');
    if (!m.has(key)) m.set(key, []);
    m.get(key)!.push(d);
  }
  return m;
}

describe('cdb hash', () => {
  it('is DJB hash 5381/33/xor, uint32', () => {
    expect(cdbHash('')).toBe(5381);
    expect(cdbHash('a')).toBe(((5381 * 33) ^ 97) >>> 0);
    // overflow wraps mod 2^32
    let h = 5381;
    for (const c of Buffer.from('a long key to force wrapping')) h = (Math.imul(h, 33) ^ c) >>> 0;
    expect(cdbHash('a long key to force wrapping')).toBe(h);
  });
});

describe('cdb writer vs tinycdb', () => {
  const cases: Array<[string, Rec[]]> = [
    ['empty database', []],
    ['one record', [[Buffer.from('key'), Buffer.from('data')]]],
    [
      'repeated keys and empty keys/data',
      [
        [Buffer.from('a'), Buffer.from('1')],
        [Buffer.from('a'), Buffer.from('2')],
        [Buffer.from(''), Buffer.from('empty key')],
        [Buffer.from('b'), Buffer.from('')],
        [Buffer.from('a'), Buffer.from('3')],
        [Buffer.from(''), Buffer.from('again')],
      ],
    ],
    ['2000 random binary records with repeats', randomRecords(2000, 1)],
  ];
  for (const [name, recs] of cases) {
    it.skipIf(!tinycdb)(`${name}: identical bytes, both readers agree`, async () => {
      const d = tmpdir();
      const theirsBytes = await theirCdb(d, 'x', recs);
      const ours = cdbBuild(recs);
      expect(ours.equals(theirsBytes)).toBe(true);
      // the file-writing path gives the same bytes
      cdbWriteAtomic(`${d}/ours.cdb`, `${d}/ours.tmp`, (add) => {
        for (const [k, v] of recs) add(k, v);
      });
      expect(readFileSync(`${d}/ours.cdb`).equals(theirsBytes)).toBe(true);
      expect(existsSync(`${d}/ours.tmp`)).toBe(false);
      // our reader on their file: every key, all repeats in order
      const want = expected(recs);
      for (const db of [Cdb.open(`${d}/x.cdb`), Cdb.load(`${d}/x.cdb`)]) {
        for (const [hex, datas] of want) {
          const k = Buffer.from(hex, 'hex');
          expect(db.getAll(k)).toEqual(datas);
          expect(db.get(k)).toEqual(datas[0]);
        }
        expect(db.get('no such key \u0001')).toBeUndefined();
        expect(db.getAll('no such key \u0001')).toEqual([]);
        expect([...db.entries()]).toEqual(recs);
        db.close();
      }
      // tinycdb's dump of our file is the input again
      const dump = await execa(tinycdb!, ['-d', `${d}/ours.cdb`], { encoding: 'buffer', stripFinalNewline: false });
      expect(Buffer.from(dump.stdout).equals(cdbInput(recs))).toBe(true);
    });
  }

  it.skipIf(!tinycdb)('tinycdb -q finds our repeated records in order', async () => {
    const d = tmpdir();
    const recs: Rec[] = [
      [Buffer.from('k'), Buffer.from('one')],
      [Buffer.from('x'), Buffer.from('other')],
      [Buffer.from('k'), Buffer.from('two')],
    ];
    writeFileSync(`${d}/o.cdb`, cdbBuild(recs));
    expect((await execa(tinycdb!, ['-q', '-n', '1', `${d}/o.cdb`, 'k'])).stdout).toBe('one');
    expect((await execa(tinycdb!, ['-q', '-n', '2', `${d}/o.cdb`, 'k'])).stdout).toBe('two');
    expect((await execa(tinycdb!, ['-q', `${d}/o.cdb`, 'missing'], { reject: false })).exitCode).toBe(100);
  });

  it.skipIf(!tinycdb)('100 000 records: identical bytes; every key found', async () => {
    const d = tmpdir();
    const recs: Rec[] = [];
    for (let i = 0; i < 100_000; i++) recs.push([Buffer.from(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`), Buffer.from(i % 3 ? '' : 'D\0')]);
    const theirsBytes = await theirCdb(d, 'big', recs);
    const fd = openSync(`${d}/w.cdb`, 'w');
    const w = new CdbWriter(fd);
    for (const [k, v] of recs) w.add(k, v);
    w.finish();
    closeSync(fd);
    expect(w.records).toBe(100_000);
    expect(readFileSync(`${d}/w.cdb`).equals(theirsBytes)).toBe(true);
    const db = Cdb.open(`${d}/big.cdb`);
    for (let i = 0; i < recs.length; i += 7) expect(db.get(recs[i][0])).toEqual(recs[i][1]);
    db.close();
  });
});

describe('cdb reader on damaged files', () => {
  const recs: Rec[] = randomRecords(300, 7);
  const good = cdbBuild(recs);
  const want = expected(recs);

  /** Every lookup must give the right answer or throw EPROTO. */
  function rightOrEproto(buf: Buffer): { errors: number } {
    const db = Cdb.fromBuffer(buf);
    let errors = 0;
    for (const [hex, datas] of want) {
      try {
        const got = db.getAll(Buffer.from(hex, 'hex'));
        expect(got).toEqual(datas);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPROTO') throw e;
        errors++;
      }
    }
    return { errors };
  }

  it('truncated files: EPROTO or the right answer, never a wrong one', () => {
    expect(() => Cdb.fromBuffer(Buffer.alloc(0)).get('x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => Cdb.fromBuffer(Buffer.alloc(100)).get('x')).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    let errors = 0;
    for (let len = good.length - 1; len > 0; len -= 97) errors += rightOrEproto(good.subarray(0, len)).errors;
    expect(errors).toBeGreaterThan(0);
  });

  it('corrupt pointers and lengths: EPROTO', () => {
    const k = recs[0][0];
    const h = cdbHash(k);
    const eproto = (buf: Buffer) => expect(() => Cdb.fromBuffer(buf).getAll(k)).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    // table position beyond the end
    let b = Buffer.from(good);
    b.writeUInt32LE(0xfffffff0, (h & 255) * 8);
    eproto(b);
    // slot count too large for the file
    b = Buffer.from(good);
    b.writeUInt32LE(0x10000000, (h & 255) * 8 + 4);
    eproto(b);
    // every slot of the key's table pointing outside the file
    b = Buffer.from(good);
    const tpos = b.readUInt32LE((h & 255) * 8);
    const slots = b.readUInt32LE((h & 255) * 8 + 4);
    for (let s = 0; s < slots; s++) if (b.readUInt32LE(tpos + s * 8 + 4) !== 0) b.writeUInt32LE(good.length + 5, tpos + s * 8 + 4);
    eproto(b);
    // record's data length running off the end
    b = Buffer.from(good);
    b.writeUInt32LE(0x7fffffff, 2048 + 4);
    eproto(b);
    expect(() => [...Cdb.fromBuffer(b).entries()]).toThrow(expect.objectContaining({ code: 'EPROTO' }));
  });

  it('random byte flips never crash with anything but EPROTO', () => {
    const r = prng(99);
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(good);
      for (let j = 0; j < 4; j++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const db = Cdb.fromBuffer(b);
      for (const [hex] of [...want].slice(0, 20)) {
        try {
          db.getAll(Buffer.from(hex, 'hex'));
        } catch (e) {
          expect((e as NodeJS.ErrnoException).code).toBe('EPROTO');
        }
      }
    }
  });

  it('a missing file throws ENOENT; open fd survives a rename over the file', () => {
    const d = tmpdir();
    expect(() => Cdb.open(`${d}/nope.cdb`)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    writeFileSync(`${d}/r.cdb`, cdbBuild([['k', 'old']]));
    const db = Cdb.open(`${d}/r.cdb`);
    cdbWriteAtomic(`${d}/r.cdb`, `${d}/r.tmp`, (add) => add('k', 'new'));
    expect(db.get('k')?.toString()).toBe('old');
    db.close();
    expect(Cdb.open(`${d}/r.cdb`).get('k')?.toString()).toBe('new');
  });

  it('cdbWriteAtomic reports the failing stage', () => {
    const d = tmpdir();
    const stage = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CdbWriteError);
        return [(e as CdbWriteError).stage, (e as CdbWriteError).code];
      }
      return undefined;
    };
    expect(stage(() => cdbWriteAtomic(`${d}/a.cdb`, `${d}/no/such/dir.tmp`, () => undefined))).toEqual(['create', 'ENOENT']);
    expect(stage(() => cdbWriteAtomic(`${d}/no/such/a.cdb`, `${d}/a.tmp`, () => undefined))).toEqual(['rename', 'ENOENT']);
    expect(existsSync(`${d}/a.tmp`)).toBe(true);
    // errors from fill itself pass through
    expect(() =>
      cdbWriteAtomic(`${d}/b.cdb`, `${d}/b.tmp`, () => {
        throw new Error('parse');
      }),
    ).toThrow('parse');
    expect(existsSync(`${d}/b.cdb`)).toBe(false);
  });
});
