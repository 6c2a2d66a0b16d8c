/**
 * tcpserver against Debian's: the environment a program sees, the -v log
 * lines, DNS names through DNSCACHEIP, -p, rules from tcprules cdbs, -B,
 * -c, IPv6 and error messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { NODE, ROOT, isRoot, ours, theirs, tmpdir, until } from './helpers.ts';
import { normLog, startServer, talk, type Running } from './tcphelpers.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';

const debian = theirs('tcpserver');
const tcprules = theirs('tcprules');

/** A small known environment for both servers, with TCP* variables tcpserver must remove. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', TCPREMOTEHOST: 'stale', TCPREMOTEINFO: 'stale', FOO: 'bar', ...extra };
}

/** Run one connection through a server and return [program output, normalised log]. */
async function once(bin: string, args: string[], env: NodeJS.ProcessEnv, input = '', pre: string[] = []): Promise<[string, string]> {
  const srv = await startServer(bin, args, env, pre);
  try {
    const out = await talk(srv.port, input);
    await until(() => /end \d+ status/.test(srv.log()));
    await until(() => /status: 0\//.test(srv.log().split('end ').pop()!));
    return [out.split(String(srv.port)).join('PORT'), normLog(srv.log(), [srv.port])];
  } finally {
    await srv.stop();
  }
}

/**
 * Our launcher is a dash script, and dash passes on its environment in its
 * own hash order with PWD added; Debian's tcpserver is started through dash
 * too, so both start from the same environment and can be compared exactly.
 */
async function both(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<[[string, string], [string, string]]> {
  const a = await once(ours('tcpserver'), args, env, input);
  const b = await once('/bin/sh', args, env, input, ['-c', 'exec "$0" "$@"', debian!]);
  return [a, b];
}

const norm = (s: string): string => s.replace(/TCPREMOTEPORT=\d+/, 'TCPREMOTEPORT=RPORT');

describe.skipIf(!debian)('tcpserver, differential', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await dnsServer({
      ptr: { '1.0.0.127.in-addr.arpa': 'Client.Example.' },
      a: { 'client.example': ['127.0.0.1'] },
    });
  });
  afterAll(async () => {
    await dns?.close();
  });

  it('gives a program the same environment and -v lines (-R -H -l0)', async () => {
    const [[oe, ol], [te, tl]] = await both(['-v', '-R', '-H', '-l0', '127.0.0.1', '0', 'env'], cleanEnv());
    expect(norm(oe)).toBe(norm(te));
    expect(ol).toBe(tl);
    expect(ol).toContain('tcpserver: ok PID 0:127.0.0.1:PORT :127.0.0.1::RPORT');
  });

  it('looks names up through DNSCACHEIP, lowercased, and -p drops a name that does not map back', async () => {
    const env = cleanEnv({ DNSCACHEIP: dns.ip });
    const [[oe, ol], [te, tl]] = await both(['-v', '-R', '127.0.0.1', '0', 'env'], env);
    expect(norm(oe)).toBe(norm(te));
    expect(oe).toContain('TCPREMOTEHOST=client.example\n');
    expect(oe).toContain('TCPLOCALHOST=client.example\n');
    expect(ol).toBe(tl);
    const [[pe], [qe]] = await both(['-v', '-p', '-R', '-l', 'me', '127.0.0.1', '0', 'env'], env);
    expect(norm(pe)).toBe(norm(qe));
    expect(pe).toContain('TCPREMOTEHOST=client.example');
    const odd = await dnsServer({ ptr: { '1.0.0.127.in-addr.arpa': 'We ird\\.Na%me_x.Example.' } });
    try {
      const [[oe, ol], [te, tl]] = await both(['-v', '-R', '127.0.0.1', '0', 'env'], cleanEnv({ DNSCACHEIP: odd.ip }));
      expect([norm(oe), ol]).toEqual([norm(te), tl]);
      expect(oe).toContain('TCPREMOTEHOST=we\\040ird');
    } finally {
      await odd.close();
    }
    const liar = await dnsServer({ ptr: { '1.0.0.127.in-addr.arpa': 'liar.example.' }, a: { 'liar.example': ['10.9.9.9'] } });
    try {
      const [[le, ll], [me, ml]] = await both(['-v', '-p', '-R', '127.0.0.1', '0', 'env'], cleanEnv({ DNSCACHEIP: liar.ip }));
      expect([norm(le), ll]).toEqual([norm(me), ml]);
      expect(le).not.toContain('TCPREMOTEHOST=');
      expect(le).toContain('TCPLOCALHOST=liar.example');
    } finally {
      await liar.close();
    }
  });

  it.skipIf(!tcprules)('follows rules from a tcprules cdb: deny, variables overriding TCP*, missing file, -X', async () => {
    const d = tmpdir();
    const rules = `${d}/rules.cdb`;
    const env = cleanEnv();
    await execa(tcprules!, [rules, `${d}/rules.tmp`], { input: '127.0.0.1:allow,RELAYCLIENT="",TCPLOCALHOST="ruled",X="a b"\n:deny\n' });
    const [[oe, ol], [te, tl]] = await both(['-v', '-R', '-H', '-l0', '-x', rules, '127.0.0.1', '0', 'env'], env);
    expect(norm(oe)).toBe(norm(te));
    expect(oe).toContain('RELAYCLIENT=\n');
    expect(ol).toBe(tl);
    await execa(tcprules!, [rules, `${d}/rules.tmp`], { input: '127.:deny\n' });
    const [[od, odl], [td, tdl]] = await both(['-v', '-R', '-H', '-l0', '-x', rules, '127.0.0.1', '0', 'env'], env);
    expect([od, odl]).toEqual([td, tdl]);
    expect(odl).toContain('tcpserver: deny PID');
    expect(odl).toContain('status 25600');
    const missing = `${d}/none.cdb`;
    const [[om, oml], [tm, tml]] = await both(['-v', '-R', '-H', '-l0', '-x', missing, '127.0.0.1', '0', 'echo', 'hi'], env);
    expect([om, oml]).toEqual([tm, tml]);
    expect(oml).toContain('unable to read');
    writeFileSync(`${d}/short.cdb`, Buffer.alloc(100, 7));
    writeFileSync(`${d}/empty.cdb`, '');
    for (const bad of ['short', 'empty']) {
      const [[ob, obl], [tb, tbl]] = await both(['-v', '-R', '-H', '-l0', '-x', `${d}/${bad}.cdb`, '127.0.0.1', '0', 'echo', 'hi'], env);
      expect([ob, obl.split(d).join('D')]).toEqual([tb, tbl.split(d).join('D')]);
      expect(obl).toMatch(/unable to read .*: (protocol error|invalid argument)/);
    }
    const [[ox], [tx]] = await both(['-v', '-X', '-R', '-H', '-l0', '-x', missing, '127.0.0.1', '0', 'echo', 'hi'], env);
    expect([ox, tx]).toEqual(['hi\n', 'hi\n']);
  });

  it.skipIf(!tcprules)("Debian's tcpserver follows a cdb from our tcprules, and ours one from Debian's", async () => {
    const d = tmpdir();
    const input = '127.0.0.2:deny\n127.0.0.1:allow,WHO="ours"\n:deny\n';
    await execa(ours('tcprules'), [`${d}/ours.cdb`, `${d}/ours.tmp`], { input });
    await execa(tcprules!, [`${d}/theirs.cdb`, `${d}/theirs.tmp`], { input });
    for (const cdb of ['ours', 'theirs']) {
      const [[o], [t]] = await both(['-v', '-RHl0', '-x', `${d}/${cdb}.cdb`, '127.0.0.1', '0', 'sh', '-c', 'echo $WHO'], cleanEnv());
      expect([o, t]).toEqual(['ours\n', 'ours\n']);
    }
  });

  it('asks identd (RFC 1413) like Debian: answer, ERROR reply, no server', async () => {
    const idHost = `127.113.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    for (const reply of [' 1, 2 : USERID : UNIX :  joe user\r\n', '1,2:ERROR:NO-USER\r\n', '']) {
      const identd = createServer((c) => {
        c.on('data', () => (reply ? c.end(reply) : c.destroy()));
        c.on('error', () => {});
      });
      await new Promise<void>((r) => identd.listen(113, idHost, () => r()));
      try {
        const got: string[] = [];
        for (const bin of [ours('tcpserver'), debian!]) {
          const srv = await startServer(bin, ['-H', '-l0', '-t', '2', '127.0.0.1', '0', 'sh', '-c', 'echo "${TCPREMOTEINFO-unset}"'], cleanEnv());
          try {
            got.push(
              await new Promise<string>((resolve, reject) => {
                const c = connect({ host: '127.0.0.1', port: srv.port, localAddress: idHost });
                let out = '';
                c.on('data', (b) => (out += b));
                c.on('close', () => resolve(out));
                c.on('error', reject);
              }),
            );
          } finally {
            await srv.stop();
          }
        }
        expect(got[0]).toBe(got[1]);
        expect(got[0]).toBe(reply.includes('joe') ? 'joeuser\n' : reply ? '\n' : 'unset\n');
      } finally {
        identd.close();
      }
    }
  });

  it.skipIf(!isRoot)('drops to -u/-g after binding, as Debian', async () => {
    const [[o], [t]] = await both(['-v', '-RHl0', '-u', '65534', '-g', '65534', '127.0.0.1', '0', 'sh', '-c', 'id -u; id -g; id -G'], cleanEnv());
    expect(o).toBe(t);
    expect(o).toBe('65534\n65534\n65534\n');
  });

  it('writes the -B banner before anything else, and reports programs that cannot run', async () => {
    const [[ob, ol], [tb, tl]] = await both(['-v', '-R', '-H', '-l0', '-B', 'hello\\n ', '127.0.0.1', '0', 'echo', 'x'], cleanEnv());
    expect(ob).toBe(tb);
    expect(ob).toBe('hello\\n x\n');
    expect(ol).toBe(tl);
    const [[on, onl], [tn, tnl]] = await both(['-v', '-R', '-H', '-l0', '127.0.0.1', '0', 'no-such-program'], cleanEnv());
    expect([on, onl]).toEqual([tn, tnl]);
    expect(onl).toContain('tcpserver: warning: dropping connection, unable to run no-such-program: file does not exist');
  });

  it('prints the same fatal errors and usage', async () => {
    for (const args of [[], ['-z'], ['-q'], ['-c'], ['0', 'nosuchport', 'x'], ['1.2.3.4', '0', 'x'], ['-q', '1.2.3.4', '0', 'x']]) {
      const a = await execa(ours('tcpserver'), args, { reject: false, env: cleanEnv() });
      const b = await execa(debian!, args, { reject: false, env: cleanEnv() });
      expect([a.exitCode, a.stderr, a.stdout]).toEqual([b.exitCode, b.stderr, b.stdout]);
    }
  });
});

describe('tcpserver', () => {
  it('holds clients beyond -c in the backlog until a slot frees', async () => {
    const d = tmpdir();
    const prog = `${d}/slow`;
    writeFileSync(prog, '#!/bin/sh\nread x\necho "got $x"\n', { mode: 0o755 });
    const srv: Running = await startServer(ours('tcpserver'), ['-v', '-c', '1', '-R', '-H', '-l0', '127.0.0.1', '0', prog], { PATH: '/usr/bin:/bin' });
    try {
      const first = connect(srv.port, '127.0.0.1');
      let firstOut = '';
      first.on('data', (b) => (firstOut += b));
      await until(() => srv.log().includes('status: 1/1'));
      const second = talk(srv.port, 'two\n');
      await new Promise((r) => setTimeout(r, 300));
      expect(srv.log().match(/pid \d+ from/g)?.length).toBe(1);
      first.write('one\n');
      expect(await second).toBe('got two\n');
      await until(() => firstOut === 'got one\n');
      first.destroy();
      await until(() => (srv.log().match(/status: 0\/1/g)?.length ?? 0) >= 2);
    } finally {
      await srv.stop();
    }
  });

  it('reads the rules cdb afresh for every connection (tcprules while serving)', async () => {
    const d = tmpdir();
    const rules = (text: string) => execa(ours('tcprules'), [`${d}/r.cdb`, `${d}/r.tmp`], { input: text });
    await rules('127.0.0.1:allow,V="one"\n');
    const srv = await startServer(ours('tcpserver'), ['-v', '-RHl0', '-x', `${d}/r.cdb`, '127.0.0.1', '0', 'sh', '-c', 'echo $V'], { PATH: '/usr/bin:/bin' });
    try {
      expect(await talk(srv.port)).toBe('one\n');
      await rules('127.0.0.1:allow,V="two"\n');
      expect(await talk(srv.port)).toBe('two\n');
      await rules('127.:deny\n');
      expect(await talk(srv.port)).toBe('');
      await until(() => srv.log().includes('tcpserver: deny'));
    } finally {
      await srv.stop();
    }
  });

  it('survives a flood beyond -c: every client is served, never more than the limit at once', async () => {
    const srv = await startServer(ours('tcpserver'), ['-v', '-c', '2', '-b', '50', '-R', '-H', '-l0', '127.0.0.1', '0', 'echo', 'hi'], { PATH: '/usr/bin:/bin' });
    try {
      const outs = await Promise.all(Array.from({ length: 30 }, () => talk(srv.port)));
      expect(outs).toEqual(Array(30).fill('hi\n'));
      await until(() => (srv.log().match(/end \d+ status 0/g)?.length ?? 0) === 30);
      const counts = [...srv.log().matchAll(/status: (\d+)\/2/g)].map((m) => Number(m[1]));
      expect(Math.max(...counts)).toBe(2);
    } finally {
      await srv.stop();
    }
  });

  it('listens on IPv6 ::1 and renders the address compactly; rules match IPv6 keys', async () => {
    const d = tmpdir();
    await execa(ours('tcprules'), [`${d}/r.cdb`, `${d}/r.tmp`], { input: '::1:allow,SIX="yes"\n:deny\n' });
    const srv = await startServer(ours('tcpserver'), ['-v', '-R', '-H', '-l0', '-x', `${d}/r.cdb`, '::1', '0', 'env'], { PATH: '/usr/bin:/bin' });
    try {
      const out = await talk(srv.port, '', '::1');
      expect(out).toContain('TCPREMOTEIP=::1\n');
      expect(out).toContain('TCPLOCALIP=::1\n');
      expect(out).toContain('SIX=yes\n');
      await until(() => /end \d+ status 0/.test(srv.log()));
      expect(srv.log()).toMatch(/tcpserver: pid \d+ from ::1\ntcpserver: ok \d+ 0:\?\?1:\d+ :\?\?1::\d+/);
    } finally {
      await srv.stop();
    }
  });
});

describe('tcpserver, in-process sessions', () => {
  it('keeps serving when one session throws, crashes from a callback or leaves a rejection', async () => {
    const srv = await startServer(NODE, [], { PATH: '/usr/bin:/bin' }, ['--disable-warning=ExperimentalWarning', `${ROOT}/test/fixtures/inproc-server.ts`]);
    try {
      const hang = connect(srv.port, '127.0.0.1');
      hang.write('hang\n');
      let rejecting = hang;
      for (const bad of ['throw', 'sync', 'timer', 'reject']) {
        if (bad === 'reject') rejecting = connect(srv.port, '127.0.0.1').on('connect', () => rejecting.write('reject\n'));
        else expect(await talk(srv.port, `${bad}\n`)).toBe('');
      }
      expect(await talk(srv.port, 'exit7\n')).toBe('');
      expect(await talk(srv.port, 'exit5\n')).toBe('');
      await until(() => /end \d+ status 1280/.test(srv.log()));
      expect(await talk(srv.port, 'hello\n')).toMatch(/^hi 41943\d\d\n$/);
      await until(() => /end \d+ status 1792/.test(srv.log()));
      const log = srv.log();
      await until(() => srv.log().includes('nobody catches this'));
      await until(() => srv.log().match(/status 28416/g)?.length === 4);
      expect(log).toContain('fixture: fatal: internal error: Error: thrown from a data handler');
      expect(log).toContain('fixture: fatal: internal error: Error: thrown from a timer');
      expect(srv.log()).toContain('fixture: fatal: internal error: Error: nobody catches this');
      hang.destroy();
      rejecting.destroy();
      await until(() => /status: 0\/40\n$/.test(srv.log()));
      expect(srv.log()).toMatch(/end \d+ status 9\n/);
    } finally {
      await srv.stop();
    }
  });

  it('keeps nothing of an in-process session once it has ended (no abandon timer left behind by the socket closing after)', async () => {
    const srv = await startServer(NODE, [], { PATH: '/usr/bin:/bin' }, ['--disable-warning=ExperimentalWarning', `${ROOT}/test/fixtures/inproc-server.ts`]);
    try {
      for (let i = 0; i < 20; i++) expect(await talk(srv.port, 'hello\n')).toMatch(/^hi \d+\n$/);
      await until(() => srv.log().match(/end \d+ status 0\n/g)?.length === 20);
      expect(await talk(srv.port, 'timers\n')).toBe('timers 0\n');
    } finally {
      await srv.stop();
    }
  });

  it('on SIGTERM stops accepting and exits once its sessions end; external children keep running, as Debian', async () => {
    const srv = await startServer(NODE, [], { PATH: '/usr/bin:/bin' }, ['--disable-warning=ExperimentalWarning', `${ROOT}/test/fixtures/inproc-server.ts`]);
    const hang = connect(srv.port, '127.0.0.1');
    hang.write('hang\n');
    await until(() => srv.log().includes('ok '));
    srv.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.child.exitCode).toBe(null);
    await expect(talk(srv.port)).rejects.toThrow(/ECONNREFUSED/);
    hang.destroy();
    await until(() => srv.child.exitCode === 0);
    for (const bin of [ours('tcpserver'), debian].filter((b): b is string => !!b)) {
      const ext = await startServer(bin, ['-v', '-RHl0', '127.0.0.1', '0', 'sh', '-c', 'read x; echo "done $x"'], { PATH: '/usr/bin:/bin' });
      const c = connect(ext.port, '127.0.0.1');
      let got = '';
      c.on('data', (b) => (got += b));
      await until(() => /ok \d+/.test(ext.log()));
      ext.child.kill('SIGTERM');
      await until(() => ext.child.exitCode === 0);
      c.write('late\n');
      await until(() => got === 'done late\n');
      c.destroy();
    }
  });
});
