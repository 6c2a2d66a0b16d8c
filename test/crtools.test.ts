/**
 * addcr, delcr, fixcrio, recordio, argv0 against Debian's ucspi-tcp: the
 * same input bytes give the same output bytes (also when the input arrives
 * in pieces split inside a CR LF), the same messages and exit codes, and the
 * exec-chaining tools keep the pid.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { addcr, DelCr, FixCr, recordLines } from '../src/lib/crlf.ts';
import { ours, theirs, prng } from './helpers.ts';

const deb = {
  addcr: theirs('addcr'),
  delcr: theirs('delcr'),
  fixcrio: theirs('fixcrio'),
  recordio: theirs('recordio'),
  argv0: theirs('argv0'),
};

/** Bytes rich in CR and LF runs. */
function crlfSoup(n: number, seed: number): Buffer {
  const r = prng(seed);
  const alphabet = [0x0d, 0x0a, 0x0d, 0x0a, 0x61, 0x62, 0x00, 0xff, 0x20];
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = alphabet[Math.floor(r() * alphabet.length)];
  return b;
}

/** Run bin with stdin written in pieces, pausing between them so each piece is a separate read. */
async function runChunked(bin: string, args: string[], pieces: Buffer[]) {
  const p = execa(bin, args, { encoding: 'buffer', stripFinalNewline: false, reject: false, stdin: 'pipe' });
  for (const piece of pieces) {
    p.stdin!.write(piece);
    await new Promise((res) => setTimeout(res, 30));
  }
  p.stdin!.end();
  const r = await p;
  return { code: r.exitCode, out: Buffer.from(r.stdout as Uint8Array), err: Buffer.from(r.stderr as Uint8Array).toString() };
}

async function run(bin: string, args: string[], input: Buffer | string) {
  const r = await execa(bin, args, { input, encoding: 'buffer', stripFinalNewline: false, reject: false });
  return { code: r.exitCode, out: Buffer.from(r.stdout as Uint8Array), err: Buffer.from(r.stderr as Uint8Array).toString() };
}

/** Every split of input into two pieces gives the same output as one piece. */
function splitInvariant(make: () => { push(b: Buffer): Buffer; end?(): Buffer }, input: Buffer): void {
  const whole = make();
  const expected = Buffer.concat([whole.push(input), whole.end ? whole.end() : Buffer.alloc(0)]);
  for (let i = 0; i <= input.length; i++) {
    const m = make();
    const got = Buffer.concat([m.push(input.subarray(0, i)), m.push(input.subarray(i)), m.end ? m.end() : Buffer.alloc(0)]);
    expect(got.equals(expected)).toBe(true);
  }
}

describe('line-ending transforms', () => {
  it('addcr, delcr, fixcr on the FORMATS.md examples', () => {
    expect(addcr(Buffer.from('a\nb\r\n')).toString()).toBe('a\r\nb\r\r\n');
    const d = new DelCr();
    expect(Buffer.concat([d.push(Buffer.from('a\r\nb\r\r\nc\rd\r')), d.end()]).toString()).toBe('a\nb\r\nc\rd\r');
    expect(new FixCr().push(Buffer.from('a\nb\r\nc\r\r\n\n')).toString()).toBe('a\r\nb\r\nc\r\r\n\r\n');
    expect(recordLines(7, '<', Buffer.from('x\n\ny')).toString()).toBe('7 < x \n7 <  \n7 < y+\n');
  });

  it('delcr and fixcr keep their state across every split', () => {
    const input = crlfSoup(200, 3);
    splitInvariant(() => new DelCr(), input);
    splitInvariant(() => new FixCr(), input);
  });
});

describe('addcr and delcr vs Debian', () => {
  for (const name of ['addcr', 'delcr'] as const) {
    it.skipIf(!deb[name])(`${name}: same bytes for CR/LF soup, whole and in pieces split inside CR LF`, async () => {
      const input = crlfSoup(100_000, name === 'addcr' ? 1 : 2);
      const a = await run(ours(name), [], input);
      const b = await run(deb[name]!, [], input);
      expect([a.code, a.err]).toEqual([b.code, b.err]);
      expect(a.out.equals(b.out)).toBe(true);
      const pieces = [Buffer.from('a\r'), Buffer.from('\nb\r'), Buffer.from('\r'), Buffer.from('\n\r')];
      const c = await runChunked(ours(name), [], pieces);
      const e = await runChunked(deb[name]!, [], pieces);
      expect(c.out.equals(e.out)).toBe(true);
      // a directory as stdin: exit 111 without a message
      const f = await execa(ours(name), [], { stdin: { file: '/' }, reject: false });
      const g = await execa(deb[name]!, [], { stdin: { file: '/' }, reject: false });
      expect([f.exitCode, f.stdout, f.stderr]).toEqual([g.exitCode, g.stdout, g.stderr]);
    });
  }
});

describe('fixcrio vs Debian', () => {
  it.skipIf(!deb.fixcrio)('both directions, whole and in pieces', async () => {
    const input = crlfSoup(20_000, 5);
    const a = await run(ours('fixcrio'), ['cat'], input);
    const b = await run(deb.fixcrio!, ['cat'], input);
    expect([a.code, a.err]).toEqual([b.code, b.err]);
    expect(a.out.equals(b.out)).toBe(true);
    const pieces = [Buffer.from('a\r'), Buffer.from('\nb'), Buffer.from('\n'), Buffer.from('\r'), Buffer.from('\r\n')];
    const c = await runChunked(ours('fixcrio'), ['cat'], pieces);
    const e = await runChunked(deb.fixcrio!, ['cat'], pieces);
    expect(c.out.toString('latin1')).toBe(e.out.toString('latin1'));
    // the program's own output, its exit status
    const script = 'printf "one\\ntwo\\r\\nthree\\n"; exit 7';
    const f = await run(ours('fixcrio'), ['sh', '-c', script], '');
    const g = await run(deb.fixcrio!, ['sh', '-c', script], '');
    expect([f.code, f.out.toString('latin1')]).toEqual([g.code, g.out.toString('latin1')]);
    expect(f.code).toBe(7);
  });

  it.skipIf(!deb.fixcrio)('usage and exec errors', async () => {
    for (const args of [[], ['/nonexistent/prog'], ['no-such-program-here']]) {
      const a = await run(ours('fixcrio'), args, '');
      const b = await run(deb.fixcrio!, args, '');
      expect([a.code, a.out.toString(), a.err]).toEqual([b.code, b.out.toString(), b.err]);
    }
  });

  it('the program keeps fixcrio\'s pid', async () => {
    const r = await execa('sh', ['-c', `echo $$; exec ${ours('fixcrio')} sh -c 'echo $$'`]);
    const [outer, inner] = r.stdout.split(/\r?\n/);
    expect(inner).toBe(outer);
  });
});

describe('recordio vs Debian', () => {
  /** stderr lines grouped by direction, the pid replaced by PID (the two directions interleave freely). */
  function byDirection(err: string): { in: string[]; out: string[]; other: string[] } {
    const res = { in: [] as string[], out: [] as string[], other: [] as string[] };
    for (const line of err.split('\n').filter((l) => l !== '')) {
      const m = /^\d+ ([<>]) (.*)$/s.exec(line);
      if (!m) res.other.push(line);
      else (m[1] === '<' ? res.in : res.out).push(m[2]);
    }
    return res;
  }

  it.skipIf(!deb.recordio)('same data and log lines for a session', async () => {
    const script = 'printf "x\\n\\ny"; cat; printf "\\n"; exit 3';
    const a = await run(ours('recordio'), ['sh', '-c', script], 'ab\ncd\n\nlast');
    const b = await run(deb.recordio!, ['sh', '-c', script], 'ab\ncd\n\nlast');
    expect(a.code).toBe(3);
    expect([a.code, a.out.toString('latin1')]).toEqual([b.code, b.out.toString('latin1')]);
    const la = byDirection(a.err);
    const lb = byDirection(b.err);
    expect(la.in).toEqual(lb.in);
    expect(la.other).toEqual(lb.other);
    // output arrives in reads whose boundaries depend on timing: compare the bytes logged
    const joined = (l: string[]) => l.map((x) => (x.endsWith('+') ? x.slice(0, -1) : x === '[EOF]' ? '<EOF>' : x.slice(0, -1) + '\n')).join('');
    expect(joined(la.out)).toBe(joined(lb.out));
  });

  it.skipIf(!deb.recordio)('reads of at most 256 bytes; the logged pid is the program\'s', async () => {
    const input = 'a'.repeat(600);
    const a = await run(ours('recordio'), ['cat'], input);
    const b = await run(deb.recordio!, ['cat'], input);
    expect(byDirection(a.err).in).toEqual(byDirection(b.err).in);
    expect(a.out.toString()).toBe(input);
    const c = await run(ours('recordio'), ['sh', '-c', 'echo $$'], '');
    const pid = c.out.toString().trim();
    for (const line of c.err.trim().split('\n')) expect(line.startsWith(`${pid} `)).toBe(true);
  });

  it.skipIf(!deb.recordio)('usage and exec errors', async () => {
    for (const args of [[], ['no-such-program-here']]) {
      const a = await run(ours('recordio'), args, '');
      const b = await run(deb.recordio!, args, '');
      expect([a.code, a.out.toString()]).toEqual([b.code, b.out.toString()]);
      expect(byDirection(a.err).other).toEqual(byDirection(b.err).other);
      // With the program gone at once, whether the copying child reads the
      // empty stdin (and logs `< [EOF]`) before it notices is a race in the
      // original too; every other input line must match.
      const noEof = (l: string[]) => l.filter((x) => x !== '[EOF]');
      expect(noEof(byDirection(a.err).in)).toEqual(noEof(byDirection(b.err).in));
    }
  });
});

describe('fixcrio and recordio end with the program', () => {
  for (const name of ['fixcrio', 'recordio'] as const) {
    it(`${name}: output ends when the program exits although stdin stays open`, async () => {
      // stdin is a pipe the test never closes; stdout must still reach EOF
      const p = execa(ours(name), ['sh', '-c', 'echo hi'], { stdin: 'pipe', reject: false, stripFinalNewline: false });
      const r = await p;
      p.stdin?.destroy();
      expect(r.stdout).toBe(name === 'fixcrio' ? 'hi\r\n' : 'hi\n');
      expect(r.exitCode).toBe(0);
    });
  }
});

describe('fixcrio and recordio on a socket (as under tcpserver)', () => {
  /** Serve one connection with bin (fds 0 and 1 = the socket); the client sends a line, never half-closes. */
  async function session(bin: string, args: string[]): Promise<{ data: string; err: string; code: number | undefined }> {
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    const served = new Promise<{ err: string; code: number | undefined }>((res) => {
      server.once('connection', (sock) => {
        const child = spawn(bin, args, { stdio: [sock, sock, 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => {
          sock.destroy();
          res({ err, code: code ?? undefined });
        });
      });
    });
    const client = connect(port, '127.0.0.1');
    let data = '';
    client.on('data', (d: Buffer) => (data += d.toString('latin1')));
    client.write('hi\n');
    await new Promise<void>((res) => client.on('close', () => res()));
    server.close();
    const { err, code } = await served;
    return { data, err, code };
  }

  for (const name of ['fixcrio', 'recordio'] as const) {
    it.skipIf(!deb[name])(`${name}: the connection closes when the program is done, like Debian's`, async () => {
      const script = 'read x; echo "got $x"';
      const a = await session(ours(name), ['sh', '-c', script]);
      const b = await session(deb[name]!, ['sh', '-c', script]);
      expect(a.data).toBe(b.data);
      expect(a.code).toBe(b.code);
      expect(a.err.replace(/^\d+ /gm, 'PID ')).toBe(b.err.replace(/^\d+ /gm, 'PID '));
    });
  }
});

describe('argv0 vs Debian', () => {
  it.skipIf(!deb.argv0)('messages, exit codes and argv[0]', async () => {
    const cases = [[], ['sh'], ['no-such-program-here', 'x'], ['/nonexistent', 'x'], ['/', 'x'], ['sh', 'zz', '-c', 'echo "$0" "$1"', 'q']];
    for (const args of cases) {
      const a = await run(ours('argv0'), args, '');
      const b = await run(deb.argv0!, args, '');
      expect([a.code, a.out.toString(), a.err], JSON.stringify(args)).toEqual([b.code, b.out.toString(), b.err]);
    }
  });

  it('really execs: same pid', async () => {
    const r = await execa('sh', ['-c', `echo $$; exec ${ours('argv0')} sh zz -c 'echo $0 $$'`]);
    const [outer, inner] = r.stdout.split('\n');
    expect(inner).toBe(`zz ${outer}`);
  });
});
