/**
 * checkpassword (the checkpassword interface: fd 3, exit 0/1/2/111, exec as
 * the user with USER/HOME/SHELL and cwd HOME) against this product's scrypt
 * password file and, as root, against /etc/shadow with every crypt scheme
 * chpasswd writes (yescrypt, SHA-512, SHA-256, MD5) for a user the test
 * creates with useradd and removes afterwards; qmail-poppass.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { isRoot, ours, tmpdir } from './helpers.ts';
import { NOBODY, accountCmd } from './pop3helpers.ts';
import { findEntry, hashPassword, parseEntry, verifyHash } from '../src/lib/checkpw/passfile.ts';
import { verifyCrypt } from '../src/lib/checkpw/system.ts';
import { sys } from '../src/lib/native.ts';

interface Result {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** Run checkpassword with fd3 as descriptor 3 (a pipe). */
function cp(args: string[], fd3: string | Buffer, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = spawn(ours('checkpassword'), args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
    c.stderr!.on('data', (b: Buffer) => (err += b.toString('latin1')));
    const w = c.stdio[3] as NodeJS.WritableStream;
    w.on('error', () => {});
    w.end(typeof fd3 === 'string' ? Buffer.from(fd3, 'latin1') : fd3);
    c.on('close', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
}

const SHOW = ['sh', '-c', 'echo "$USER|$HOME|$SHELL|$(pwd)|$(id -u)|$(id -G)|$KEEP"'];

function setup(): { dir: string; home: string; file: string; env: NodeJS.ProcessEnv } {
  const dir = tmpdir('cpw-');
  chmodSync(dir, 0o755);
  const home = `${dir}/home`;
  mkdirSync(home);
  const file = `${dir}/poppasswd`;
  return { dir, home, file, env: { PATH: '/usr/bin:/bin', POPPASSWD: file, KEEP: 'kept' } };
}

describe('password file', () => {
  it('hashes with scrypt in the documented format and verifies in constant time', async () => {
    const h = await hashPassword(Buffer.from('secret'));
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyHash(h, Buffer.from('secret'))).toBe(true);
    expect(await verifyHash(h, Buffer.from('secreT'))).toBe(false);
    expect(await verifyHash('!' + h, Buffer.from('secret'))).toBe(false);
    expect(await verifyHash('scrypt$3$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA', Buffer.from(''))).toBe(false);
    expect(parseEntry(`u:${h}:1:2:/h:/bin/sh`)).toEqual({ user: 'u', hash: h, uid: 1, gid: 2, home: '/h', shell: '/bin/sh' });
    expect(parseEntry(`u:${h}:::/h:`)).toEqual({ user: 'u', hash: h, uid: undefined, gid: undefined, home: '/h', shell: '' });
    for (const bad of ['#u:x:1:2:/h:s', 'u:x:1::/h:s', 'u:x:1:2:rel:s', 'u:x:1:2:/h', ':x:1:2:/h:s', 'u:x:-1:2:/h:s']) expect(parseEntry(bad)).toBeUndefined();
    expect(findEntry(`a:x:::/a:\nab:y:::/ab:\n`, 'ab')?.hash).toBe('y');
  });

  it('verifies crypt(3) hashes of every scheme libxcrypt knows', () => {
    const p = Buffer.from('pw');
    for (const setting of ['$y$j9T$abcdefghijklmnop$', '$6$saltsalt$', '$5$saltsalt$', '$1$saltsalt$']) {
      const h = sys.crypt(p, setting)!;
      expect(h.startsWith(setting)).toBe(true);
      expect(verifyCrypt(h, p)).toBe(true);
      expect(verifyCrypt(h, Buffer.from('pW'))).toBe(false);
    }
    // a known SHA-512 vector (the glibc test suite's "Hello world!" with salt "saltstring")
    expect(verifyCrypt('$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1', Buffer.from('Hello world!'))).toBe(true);
    expect(verifyCrypt('!$6$salt$x', p)).toBe(false);
    expect(verifyCrypt('*', p)).toBe(false);
    expect(verifyCrypt('', p)).toBe(false);
  });
});

describe('checkpassword with the password file', () => {
  it('runs the program as the entry\'s account with USER, HOME, SHELL and cwd HOME', async () => {
    const s = setup();
    const ids = isRoot ? ['-u', String(NOBODY), '-g', String(NOBODY)] : [];
    await execa(ours('qmail-poppass'), [...ids, '-s', '/bin/false', 'dora', s.home], { input: 'p4ss word\n', env: s.env });
    const uid = isRoot ? NOBODY : process.getuid!();
    const r = await cp(SHOW, 'dora\0p4ss word\0<1.2@h>\0', s.env);
    expect([r.code, r.err]).toEqual([0, '']);
    const groups = isRoot ? String(NOBODY) : r.out.split('|')[5];
    expect(r.out).toBe(`dora|${s.home}|/bin/false|${s.home}|${uid}|${groups}|kept\n`);
  });

  it('exits 1 after a delay for a wrong password or an unknown user, 2 on misuse', async () => {
    const s = setup();
    const ids = isRoot ? ['-u', String(NOBODY), '-g', String(NOBODY)] : [];
    await execa(ours('qmail-poppass'), [...ids, 'eve', s.home], { input: 'right\n', env: s.env });
    const [wrong, unknown, apop] = await Promise.all([
      cp(SHOW, 'eve\0wrong\0<1.2@h>\0', s.env),
      cp(SHOW, 'nosuchuser-x\0right\0<1.2@h>\0', s.env),
      cp(SHOW, 'eve\x000123456789abcdef0123456789abcdef\0<1.2@h>\0', s.env),
    ]);
    for (const r of [wrong, unknown, apop]) {
      expect([r.code, r.out, r.err]).toEqual([1, '', '']);
      expect(r.ms).toBeGreaterThanOrEqual(900);
    }
    expect((await cp(SHOW, 'eve\0right', s.env)).code).toBe(2);
    expect((await cp([], 'eve\0right\0\0', s.env)).code).toBe(2);
  });

  it.skipIf(!isRoot)('as root: refuses an entry without uid/gid or with uid 0 (111)', async () => {
    const s = setup();
    await execa(ours('qmail-poppass'), ['nouid', s.home], { input: 'x\n', env: s.env });
    await execa(ours('qmail-poppass'), ['-u', '0', '-g', '0', 'zero', s.home], { input: 'x\n', env: s.env });
    const a = await cp(SHOW, 'nouid\0x\0\0', s.env);
    const b = await cp(SHOW, 'zero\0x\0\0', s.env);
    expect([a.code, a.out]).toEqual([111, '']);
    expect(a.err).toMatch(/^checkpassword: fatal: no uid\/gid for nouid in /);
    expect([b.code, b.out]).toEqual([111, '']);
    expect(b.err).toMatch(/^checkpassword: fatal: refusing uid 0 for zero in /);
  });
});

describe.skipIf(!isRoot)('checkpassword with /etc/shadow (root)', () => {
  const name = `qmtpop${process.pid % 100000}`;
  const s = setup();
  let made = false;
  afterAll(async () => {
    if (made) await accountCmd('userdel', [name]).catch(() => {});
  });

  it('authenticates yescrypt, SHA-512, SHA-256 and MD5 hashes and becomes the user', async () => {
    chownSync(s.home, 0, 0);
    await accountCmd('useradd', ['-M', '-d', s.home, '-s', '/bin/sh', name]);
    made = true;
    const uid = Number((await execa('id', ['-u', name])).stdout);
    const gid = Number((await execa('id', ['-g', name])).stdout);
    for (const [method, prefix] of [['YESCRYPT', '$y$'], ['SHA512', '$6$'], ['SHA256', '$5$'], ['MD5', '$1$']]) {
      await accountCmd('chpasswd', ['-c', method], `${name}:Tr1cky pw:$\n`);
      const line = readFileSync('/etc/shadow', 'latin1').split('\n').find((l) => l.startsWith(name + ':'))!;
      expect(line.split(':')[1].startsWith(prefix)).toBe(true);
      const r = await cp(SHOW, `${name}\0Tr1cky pw:$\0<1.2@h>\0`, s.env);
      expect([method, r.code, r.out, r.err]).toEqual([method, 0, `${name}|${s.home}|/bin/sh|${s.home}|${uid}|${gid}|kept\n`, '']);
    }
    const bad = await cp(SHOW, `${name}\0Tr1cky pw\0<1.2@h>\0`, s.env);
    expect(bad.code).toBe(1);
    // a locked account never matches
    await accountCmd('usermod', ['-L', name]);
    expect((await cp(SHOW, `${name}\0Tr1cky pw:$\0<1.2@h>\0`, s.env)).code).toBe(1);
  });
});

describe('qmail-poppass', () => {
  it('adds, replaces and deletes entries atomically, mode 0600, password from stdin only', async () => {
    const s = setup();
    writeFileSync(s.file, '# comment kept\n');
    await execa(ours('qmail-poppass'), ['-u', '10', '-g', '20', 'a', '/home/a'], { input: 'one\r\n', env: s.env });
    await execa(ours('qmail-poppass'), ['b', '/home/b'], { input: 'two', env: s.env });
    const first = readFileSync(s.file, 'latin1');
    await execa(ours('qmail-poppass'), ['-s', '/bin/false', 'a', '/home/a2'], { input: 'three\n', env: s.env });
    const lines = readFileSync(s.file, 'latin1').split('\n');
    expect(lines[0]).toBe('# comment kept');
    expect(lines[1]).toMatch(/^a:scrypt\$16384\$8\$1\$[^:]+:::\/home\/a2:\/bin\/false$/);
    expect(lines[2]).toBe(first.split('\n')[2]);
    expect(lines[2]).toMatch(/^b:scrypt\$[^:]+:::\/home\/b:\/bin\/sh$/);
    expect(await verifyHash(parseEntry(lines[1])!.hash, Buffer.from('three'))).toBe(true);
    expect(await verifyHash(parseEntry(lines[2])!.hash, Buffer.from('two'))).toBe(true);
    expect(statSync(s.file).mode & 0o777).toBe(0o600);
    await execa(ours('qmail-poppass'), ['-d', 'a'], { env: s.env });
    expect(readFileSync(s.file, 'latin1').split('\n').map((l) => l.split(':')[0])).toEqual(['# comment kept', 'b', '']);
    const bad = await Promise.all([
      execa(ours('qmail-poppass'), ['-d', 'zz'], { env: s.env, reject: false }),
      execa(ours('qmail-poppass'), ['c', 'relative'], { input: 'x\n', env: s.env, reject: false }),
      execa(ours('qmail-poppass'), ['c', '/h'], { input: '\n', env: s.env, reject: false }),
      execa(ours('qmail-poppass'), ['-u', '1', 'c', '/h'], { input: 'x\n', env: s.env, reject: false }),
    ]);
    expect(bad.map((r) => r.exitCode)).toEqual([100, 100, 100, 100]);
    expect(bad[3].stderr).toBe('qmail-poppass: usage: qmail-poppass [ -u uid -g gid ] [ -s shell ] user home | -d user');
  });
});
