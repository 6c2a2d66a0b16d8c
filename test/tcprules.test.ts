/**
 * tcprules / tcprulescheck / rules lookup against Debian's ucspi-tcp:
 * identical cdb bytes for a large varied rules file, identical messages,
 * exit codes and untouched rules.cdb for each kind of bad line and system
 * error, identical tcprulescheck output for many TCPREMOTEIP/HOST/INFO
 * combinations against both cdbs; then the IPv6 extension.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { execa } from 'execa';
import { Cdb, cdbBuild } from '../src/lib/cdb.ts';
import { compileRules, decodeRule, normalizeIp6, parseRuleLine, ruleReport, rulesLookup, RulesSyntaxError } from '../src/lib/rules.ts';
import { fdStdin, ours, theirs, tmpdir, prng } from './helpers.ts';

const debRules = theirs('tcprules');
const debCheck = theirs('tcprulescheck');

/** A large rules file touching every feature of the syntax. */
function variedRules(lines: number, seed: number): Buffer {
  const r = prng(seed);
  const n = (k: number) => Math.floor(r() * k);
  const pick = <T>(a: T[]): T => a[n(a.length)];
  const ip = () => `${n(256)}.${n(256)}.${n(256)}.${n(256)}`;
  const hosts = ['mail.example.com', 'a.b.c', 'x', 'UPPER.Example.ORG', 'dots..in.name', ''];
  const addresses: Array<() => string> = [
    ip,
    () => `${n(256)}.${n(256)}.${n(256)}.`,
    () => `${n(256)}.`,
    () => `${n(256)}.${n(256)}.`,
    () => `${n(256)}.${n(256)}.${n(256)}.${n(256)}-${n(300)}`, // incl. reversed and clamped
    () => `${n(256)}.${n(256)}.${n(256)}.-${n(5)}`, // empty lower bound
    () => `${n(256)}.${n(256)}.${n(256)}.${n(5)}-`, // empty upper bound: nothing
    () => `${n(256)}.${n(10)}-${n(12)}.`, // range in the middle
    () => `1.2.3.00${n(9)}-0${n(20)}`, // leading zeros
    () => `${n(3)}-${n(3)}`,
    () => `=${pick(hosts)}`,
    () => `=.${pick(['example.com', 'com', 'org', 'b.c'])}`,
    () => '=',
    () => '',
    () => `${pick(['joe', 'root', '', 'a b'])}@${ip()}`,
    () => `${pick(['joe', 'bill'])}@=${pick(hosts)}`,
    () => `${pick(['joe', 'bill'])}@1.2.3.4-5`, // @ disables ranges
    () => `=host-with-dash.example`,
    () => ` spaced ${n(9)} `,
  ];
  const quotes = ['"', "'", '/', '|', 'x', '%', ':', ','];
  const names = ['RELAYCLIENT', 'QMAILQUEUE', 'TCPLOCALHOST', 'A B', '', 'RBLSMTPD', 'X'];
  const values = ['', '@fix.me', 'movie.edu', '-no relaying', 'a:b:c', 'with space', 'tab\there', 'cr\rin', 'caf\u00e9', 'comma,inside'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const kind = r();
    if (kind < 0.04) out.push(`# comment ${i}: with:colons,deny`);
    else if (kind < 0.06) out.push('');
    else if (kind < 0.07) out.push(pick(['   ', '\t', ' \t ']));
    else if (kind < 0.08) out.push(`no colon here ${i}`);
    else {
      let line = `${pick(addresses)()}:${r() < 0.3 ? 'deny' : 'allow'}`;
      const vars = n(4);
      for (let v = 0; v < vars; v++) {
        const q = pick(quotes);
        let val = pick(values);
        if (val.includes(q)) val = val.split(q).join('');
        line += `,${pick(names)}=${q}${val}${q}`;
      }
      if (r() < 0.15) line += pick([' ', '\t', '  \t', ' \t ']);
      out.push(line);
    }
  }
  // the last line without a newline
  return Buffer.from(out.join('\n') + '\n1.2.3.4:deny,LAST="yes"  ', 'latin1');
}

async function runRules(bin: string, dir: string, input: Buffer | string, cdb = 'rules.cdb', tmp = 'rules.tmp') {
  return execa(bin, [cdb, tmp], { cwd: dir, input, reject: false, stripFinalNewline: false });
}

describe('tcprules vs Debian', () => {
  it.skipIf(!debRules)('a large varied rules file gives identical cdb bytes', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/o`);
    mkdirSync(`${d}/t`);
    const input = variedRules(6000, 42);
    const a = await runRules(ours('tcprules'), `${d}/o`, input);
    const b = await runRules(debRules!, `${d}/t`, input);
    expect([a.exitCode, a.stdout, a.stderr]).toEqual([b.exitCode, b.stdout, b.stderr]);
    expect(a.exitCode).toBe(0);
    const oc = readFileSync(`${d}/o/rules.cdb`);
    const tc = readFileSync(`${d}/t/rules.cdb`);
    expect(oc.length).toBeGreaterThan(50_000);
    expect(oc.equals(tc)).toBe(true);
    expect(existsSync(`${d}/o/rules.tmp`)).toBe(false);
    // the library path gives the same bytes, however the input is chunked
    for (const size of [1, 7, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
      const recs: Array<[Buffer, Buffer]> = [];
      await compileRules(size === 1 ? chunks.slice(0, 3000).concat([Buffer.concat(chunks.slice(3000))]) : chunks, (k, v) => recs.push([k, v]));
      expect(cdbBuild(recs).equals(tc)).toBe(true);
    }
  });

  it.skipIf(!debRules)('special lines: empty input, ranges, quoting, NULs, CRs', async () => {
    const inputs = [
      '',
      '\n\n',
      ':allow',
      '1.2.3.4:allow\r\n', // CR is not stripped: a parse error
      '1.2.3.4-6:deny\n127.0-2.:deny\n1.2.3.250-300:allow\n1.2.3.6-4:allow\n1.2.3.-2:allow\n1.2.3.2-:allow\n1.2.3.-:allow\n-:allow\n..-1..:allow\n',
      '1.2.3.18446744073709551617-3:allow\n1.2.3.0-18446744073709551618:allow\n1.2.3.99999999999999999999999-1:allow\n',
      '1.2.3.4:allow,A="x\0y",=/e/,B==,C=""\n',
      '5:deny,Y="\0"\n6:allow,Z=\0a\0\n',
      '#only a comment',
      '  \t\n1:allow\n',
      '=a-b:allow\na@1.2.3.4-5:allow\n1.2.3.4-6.x:allow\n1.2-3.4-5:allow\n',
      '1.2.3.4:allow,X="a",X="b"\n',
      ' 1.2.3.4 :allow\n',
      // the edges of RuleLines' fast path (rules.ts fastLines)
      '1:allow,A= x \n',
      '1:allow,A=\tx\t\n',
      '1:allow,A= x\n2:deny\n',
      '1:allow ,A="x"\n',
      '1:allow,A="x" \t \n1:deny\t\n:deny\n',
      '1:allowx\n',
      '1:allow,A="x"y\n',
      '1:allow,\n',
      '1:allow,A\n',
      '1:allow,A=\n',
      '1:allow,A="\n',
      '1:allow,=="=",B=::,C=,,\n',
      '1.2.3.4-5:deny\n6:allow\n=a-b:allow,X="1"\nx@1-2:deny\n1-2@x:deny\n',
      '1.2.3.4:allow\n1:bad\n',
    ];
    for (const input of inputs) {
      const d = tmpdir();
      mkdirSync(`${d}/o`);
      mkdirSync(`${d}/t`);
      const a = await runRules(ours('tcprules'), `${d}/o`, input);
      const b = await runRules(debRules!, `${d}/t`, input);
      expect([a.exitCode, a.stdout, a.stderr], JSON.stringify(input)).toEqual([b.exitCode, b.stdout, b.stderr]);
      if (b.exitCode === 0) expect(readFileSync(`${d}/o/rules.cdb`).equals(readFileSync(`${d}/t/rules.cdb`)), JSON.stringify(input)).toBe(true);
    }
  });

  it.skipIf(!debRules)('each kind of bad line: same message, exit 100, rules.cdb left alone', async () => {
    const bad = [
      '1.2.3.4:allowed',
      '1.2.3.4:denyx',
      '1.2.3.4:bad  \t',
      '1.2.3.4:',
      '1.2.3.4:Allow',
      '1.2.3.4:allow,X=',
      '1.2.3.4:allow,X',
      '1.2.3.4:allow,X="ab',
      '1.2.3.4:allow,X="ab"junk',
      '1.2.3.4:allow,',
      '1.2.3.4:allow ,X="a"',
      '1.2.3.4:allow X="a"',
      'a:b:allow',
      '::allow',
      '::1:deny,X="a"junk',
      '1.2.3.a-2:allow',
      '1.2.3.1-b:allow',
      'x1-3:allow',
      '1.2.3.+1-2:allow',
      '1.2.3. 1-2:allow',
      '1.2.3.4--5:allow',
      '1.2.3.1-2-3:allow',
      '1.2.3.4-6x:allow',
      '2001:db8::1-5:allow',
      '1.2.3.4:deny,A="x\0y"junk', // printed up to the NUL
      '\0:bad',
    ];
    for (const line of bad) {
      for (const input of [`${line}\n`, `1.2.3.4:allow\n#c\n${line}\n5.6.7.8:deny\n`]) {
        const d = tmpdir();
        const res = [];
        for (const [name, bin] of [
          ['o', ours('tcprules')],
          ['t', debRules!],
        ]) {
          mkdirSync(`${d}/${name}`);
          writeFileSync(`${d}/${name}/rules.cdb`, 'old rules');
          const r = await runRules(bin, `${d}/${name}`, input);
          res.push([r.exitCode, r.stdout, r.stderr, readFileSync(`${d}/${name}/rules.cdb`, 'latin1')]);
        }
        expect(res[0], JSON.stringify(input)).toEqual(res[1]);
        expect(res[0][0]).toBe(100);
        expect(res[0][3]).toBe('old rules');
      }
    }
  });

  it.skipIf(!debRules)('usage and system errors: same messages and exit codes', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/dir.cdb`);
    const cases: Array<{ args: string[]; stdin?: string }> = [
      { args: [] },
      { args: ['only.cdb'] },
      { args: ['x.cdb', 'no/such/dir/x.tmp'] },
      { args: ['no/such/dir/x.cdb', 'x.tmp'] },
      { args: ['dir.cdb', 'x.tmp'] },
      { args: ['x.cdb', 'x.tmp'], stdin: '/' },
      { args: ['x.cdb', 'x.tmp', 'extra'] },
    ];
    for (const c of cases) {
      const res = [];
      for (const bin of [ours('tcprules'), debRules!]) {
        const fd = openSync(c.stdin ?? '/dev/null', 'r');
        try {
          const r = await execa(bin, c.args, { cwd: d, stdin: fdStdin(fd), reject: false });
          res.push([r.exitCode, r.stdout, r.stderr]);
        } finally {
          closeSync(fd);
        }
      }
      expect(res[0], JSON.stringify(c)).toEqual(res[1]);
    }
  });
});

describe('tcprules fuzz vs Debian', () => {
  /** A random line from the characters that matter to the parser. */
  function randomLine(r: () => number): string {
    const atoms = ['1', '2', '.', '-', ':', ',', '=', '"', "'", '@', '#', ' ', '\t', 'a', 'allow', 'deny', 'X', '255', '300', '0', '\r', '\u0000'];
    const n = 1 + Math.floor(r() * 14);
    let line = '';
    for (let i = 0; i < n; i++) line += atoms[Math.floor(r() * atoms.length)];
    // bias towards almost-valid rules
    if (r() < 0.5) line = line.replace(/^[^:]*/, (a) => a) + (r() < 0.5 ? ':allow' : ':deny') + (r() < 0.5 ? ',A="1"' : '');
    return line;
  }

  /** Lines our IPv6 extension deliberately reads differently (see rules.ts). */
  function ipv6Extension(line: string): boolean {
    const first = line.indexOf(':');
    return first >= 0 && !/^(allow|deny)/.test(line.slice(first + 1)) && /:(allow|deny)/.test(line.slice(first + 1));
  }

  it.skipIf(!debRules)('random lines: same verdict and same records', async () => {
    // FUZZ_SEED / FUZZ_N replay or widen the run
    const r = prng(Number(process.env.FUZZ_SEED ?? 2026));
    const total = Number(process.env.FUZZ_N ?? 400);
    const d = tmpdir();
    let compared = 0;
    for (let i = 0; i < total; i++) {
      const line = randomLine(r);
      const res = await runRules(debRules!, d, line + '\n');
      let ours: { code: number; err: string; cdb?: Buffer };
      try {
        const recs = parseRuleLine(Buffer.from(line + '\n', 'latin1')) ?? [];
        ours = { code: 0, err: '', cdb: cdbBuild(recs) };
      } catch (e) {
        if (!(e instanceof RulesSyntaxError)) throw e;
        ours = { code: 100, err: `tcprules: fatal: unable to parse this line: ${e.line.toString('latin1')}\n` };
      }
      // RuleLines (its fast path, then compileLine) agrees with parseRuleLine
      const viaLines: Array<[Buffer, Buffer]> = [];
      const linesErr = await compileRules([Buffer.from(line + '\n', 'latin1')], (k, v) => viaLines.push([k, v])).then(
        () => undefined,
        (e: unknown) => (e instanceof RulesSyntaxError ? e.line.toString('latin1') : e),
      );
      if (ours.code === 0) expect([linesErr, cdbBuild(viaLines).equals(ours.cdb!)], JSON.stringify(line)).toEqual([undefined, true]);
      else expect(`tcprules: fatal: unable to parse this line: ${linesErr}\n`, JSON.stringify(line)).toBe(ours.err);
      if (ipv6Extension(line) && res.exitCode === 100 && ours.code === 0) continue;
      compared++;
      expect([ours.code, ours.err], JSON.stringify(line)).toEqual([res.exitCode, Buffer.from(res.stderr as string, 'utf8').toString('latin1')]);
      if (res.exitCode === 0) expect(ours.cdb!.equals(readFileSync(`${d}/rules.cdb`)), JSON.stringify(line)).toBe(true);
    }
    expect(compared).toBeGreaterThan(total * 0.85);
  });
});

describe('tcprulescheck vs Debian', () => {
  const rulesText = [
    'joe@1.2.3.4:allow,WHO="joe"',
    'joe@=mail.example.com:allow,WHO="joe at host"',
    '@1.2.3.9:deny',
    '1.2.3.4:deny',
    '=mail.example.com:allow,HOST="exact"',
    '1.2.3.:allow,NET="1.2.3"',
    '1.2.:allow,NET="1.2",RELAYCLIENT=""',
    '10.0.0.1-20:allow,RANGE="yes"',
    '=.example.com:allow,DOM="example.com",X="a\u0000b"',
    '=.com:deny',
    '=:allow,ANYHOST="1"',
    '127.:allow,RELAYCLIENT="",TCPLOCALHOST="movie.edu"',
    ':allow,DEFAULT="yes",A B=/c d/',
  ].join('\n');
  const combos: Array<Record<string, string>> = [];
  const ips = ['1.2.3.4', '1.2.3.9', '1.2.3.5', '1.2.9.9', '1.9.9.9', '10.0.0.5', '10.0.0.21', '127.0.0.1', '9.9.9.9', '0.0.0.0', '', 'not.an:ip', '1.2.3:4.5'];
  const hostsList = [undefined, '', 'mail.example.com', 'www.example.com', 'a.b.com', 'x.org', 'example.com'];
  const infos = [undefined, '', 'joe', 'bill'];
  for (const ip of ips) for (const host of hostsList) for (const info of infos) {
    const env: Record<string, string> = { TCPREMOTEIP: ip };
    if (host !== undefined) env.TCPREMOTEHOST = host;
    if (info !== undefined) env.TCPREMOTEINFO = info;
    combos.push(env);
  }
  combos.push({}); // TCPREMOTEIP unset: 0.0.0.0

  it.skipIf(!debRules || !debCheck)('same output for every combination, on our cdb and on Debian\'s', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/o`);
    mkdirSync(`${d}/t`);
    expect((await runRules(ours('tcprules'), `${d}/o`, rulesText)).exitCode).toBe(0);
    expect((await runRules(debRules!, `${d}/t`, rulesText)).exitCode).toBe(0);
    const ourDb = Cdb.open(`${d}/o/rules.cdb`);
    const theirDb = Cdb.load(`${d}/t/rules.cdb`);
    for (const env of combos) {
      const deb = await execa(debCheck!, [`${d}/t/rules.cdb`], { env, extendEnv: false, encoding: 'buffer', stripFinalNewline: false });
      const debOnOurs = await execa(debCheck!, [`${d}/o/rules.cdb`], { env, extendEnv: false, encoding: 'buffer', stripFinalNewline: false });
      expect(Buffer.from(debOnOurs.stdout).equals(Buffer.from(deb.stdout))).toBe(true);
      for (const db of [ourDb, theirDb]) {
        const mine = ruleReport(rulesLookup(db, env.TCPREMOTEIP ?? '0.0.0.0', env.TCPREMOTEHOST, env.TCPREMOTEINFO));
        expect(mine.toString('latin1'), JSON.stringify(env)).toBe(Buffer.from(deb.stdout).toString('latin1'));
      }
    }
    ourDb.close();
    // the real program, a few times, plus its errors
    for (const env of [combos[0], combos[40], combos[combos.length - 1], { TCPREMOTEIP: '1.2.3.4', TCPREMOTEINFO: 'joe' }]) {
      const a = await execa(ours('tcprulescheck'), [`${d}/t/rules.cdb`], { env, extendEnv: false, reject: false });
      const b = await execa(debCheck!, [`${d}/t/rules.cdb`], { env, extendEnv: false, reject: false });
      expect([a.exitCode, a.stdout, a.stderr]).toEqual([b.exitCode, b.stdout, b.stderr]);
    }
    writeFileSync(`${d}/short.cdb`, 'x');
    writeFileSync(`${d}/empty.cdb`, '');
    writeFileSync(`${d}/zeros.cdb`, Buffer.alloc(2047));
    writeFileSync(`${d}/trunc.cdb`, readFileSync(`${d}/t/rules.cdb`).subarray(0, 2100));
    for (const args of [[], ['missing.cdb'], ['short.cdb'], ['empty.cdb'], ['zeros.cdb'], ['trunc.cdb']]) {
      const env = { TCPREMOTEIP: '9.9.9.9', TCPREMOTEHOST: 'www.example.com' };
      const a = await execa(ours('tcprulescheck'), args, { cwd: d, env, extendEnv: false, reject: false });
      const b = await execa(debCheck!, args, { cwd: d, env, extendEnv: false, reject: false });
      expect([a.exitCode, a.stdout, a.stderr], JSON.stringify(args)).toEqual([b.exitCode, b.stdout, b.stderr]);
    }
  });
});

describe('rule values', () => {
  it('decodeRule: deny, variables in order, odd items ignored', () => {
    expect(decodeRule(Buffer.from(''))).toEqual({ deny: false, env: [] });
    expect(decodeRule(Buffer.from('D\0'))).toEqual({ deny: true, env: [] });
    expect(decodeRule(Buffer.from('+A=1\0+B=x=y\0junk\0+NOEQ\0+=e\0tail'))).toEqual({
      deny: false,
      env: [
        ['A', '1'],
        ['B', 'x=y'],
        ['', 'e'],
      ],
    });
    expect(decodeRule(Buffer.from('+A=1\0D\0+B=2\0'))).toEqual({ deny: true, env: [['A', '1']] });
  });

  it('parseRuleLine reports the line cut at the first NUL', () => {
    expect(() => parseRuleLine(Buffer.from('1:allow,X="a\0b"z  \n'))).toThrow(RulesSyntaxError);
    try {
      parseRuleLine(Buffer.from('1:allow,X="a\0b"z  \n'));
    } catch (e) {
      expect((e as RulesSyntaxError).line.toString()).toBe('1:allow,X="a');
    }
    expect(parseRuleLine(Buffer.from('# x:deny'))).toBeUndefined();
    expect(parseRuleLine(Buffer.from('   \t\n'))).toBeUndefined();
    expect(parseRuleLine(Buffer.from('1.2.3.9-8:deny'))).toEqual([]);
  });
});

describe('IPv6 rules (extension)', () => {
  const rules = [
    '::1:allow,WHO="loopback"',
    'joe@2001:DB8:0::7:allow,WHO="joe"',
    '2001:db8::5:deny',
    '2001:db8:0:1::allow,NET="/64"',
    '2001:0DB8::allow,NET="/32"',
    'fe80:::allow,NET="link-local compact prefix"',
    '2001:db8:0:0:0:0:0::allow,NET="/112"',
    '10.0.0.:allow,NET="v4"',
    ':allow,DEFAULT="1"',
  ].join('\n');

  async function db(): Promise<Cdb> {
    const recs: Array<[Buffer, Buffer]> = [];
    await compileRules([Buffer.from(rules)], (k, v) => recs.push([k, v]));
    return Cdb.fromBuffer(cdbBuild(recs));
  }

  it('normalizes addresses to RFC 5952 text', () => {
    expect(normalizeIp6('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(normalizeIp6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(normalizeIp6('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp6('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(normalizeIp6('1.2.3.4')).toBe('1.2.3.4');
  });

  it('compiles IPv6 rule lines to normalized keys', () => {
    const keys = (l: string) => parseRuleLine(Buffer.from(l))?.map(([k]) => k.toString());
    expect(keys('::1:allow')).toEqual(['::1']);
    expect(keys('2001:0DB8::allow,X="a:b"')).toEqual(['2001:db8:']);
    expect(keys('joe@2001:DB8:0::7:deny')).toEqual(['joe@2001:db8::7']);
    expect(keys('fe80::allow')).toEqual(['fe80:']);
    expect(keys('fe80:::allow')).toEqual(['fe80::']);
    expect(keys('::ffff:10.0.0.1:allow')).toEqual(['10.0.0.1']);
    expect(() => keys('a:b:allow')).toThrow(RulesSyntaxError);
    expect(() => keys('2001:db8::1-5:allow')).toThrow(RulesSyntaxError);
  });

  it('looks up exact addresses, then :-prefixes longest first', async () => {
    const d = await db();
    const who = (ip: string, info?: string) => {
      const hit = rulesLookup(d, ip, undefined, info);
      return hit && [hit.key, decodeRule(hit.value)];
    };
    expect(who('::1')).toEqual(['::1', { deny: false, env: [['WHO', 'loopback']] }]);
    expect(who('0:0:0:0:0:0:0:1')?.[0]).toBe('::1');
    expect(who('2001:db8::7', 'joe')?.[0]).toBe('joe@2001:db8::7');
    expect(who('2001:db8::5')).toEqual(['2001:db8::5', { deny: true, env: [] }]);
    expect(who('2001:db8::9')?.[0]).toBe('2001:db8:0:0:0:0:0:');
    expect(who('2001:db8:0:1::9')?.[0]).toBe('2001:db8:0:1:');
    expect(who('2001:db8:5::9')?.[0]).toBe('2001:db8:');
    expect(who('2001:DB8:5:0:0:0:0:9')?.[0]).toBe('2001:db8:');
    expect(who('fe80::1')?.[0]).toBe('fe80::');
    expect(who('2002::1')?.[0]).toBe('');
    // IPv4-mapped: the IPv4 rules apply
    expect(who('::ffff:10.0.0.3')?.[0]).toBe('10.0.0.');
    // IPv4 behaviour unchanged
    expect(who('10.0.0.3')?.[0]).toBe('10.0.0.');
  });

  it('a compact prefix with :: as the IPv6 patch writes it', () => {
    const d = Cdb.fromBuffer(cdbBuild([['2001:db8::', 'D\0']]));
    expect(rulesLookup(d, '2001:db8::1')?.key).toBe('2001:db8::');
    expect(rulesLookup(d, '2001:db8:1::1')).toBeUndefined();
  });

  it.skipIf(!debRules)('our tcprules compiles IPv6 lines Debian rejects', async () => {
    const d = tmpdir();
    const r = await runRules(ours('tcprules'), d, rules);
    expect([r.exitCode, r.stderr]).toEqual([0, '']);
    const a = await execa(ours('tcprulescheck'), [`${d}/rules.cdb`], { env: { TCPREMOTEIP: '2001:db8:0:1::5' }, extendEnv: false });
    expect(a.stdout).toBe('rule 2001:db8:0:1::\nset environment variable NET=/64\nallow connection');
  });
});
