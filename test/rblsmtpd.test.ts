/**
 * rblsmtpd against Debian's: every RBLSMTPD form, -r/-a/-b/-c against a DNS
 * server on 127.x (DNSCACHEIP), the SMTP conversation and -t0; then the
 * same answers through tcpserver, where ours runs rblsmtpd in-process and
 * chains to the next program.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { ours, theirs, tmpdir, until } from './helpers.ts';
import { normLog, startServer, talk } from './tcphelpers.ts';
import { dnsServer, type DnsServer } from './dns-server.ts';

const debian = theirs('rblsmtpd');
const debianServer = theirs('tcpserver');

const SESSION = 'helo x\r\nEHLO y\r\nmail from:<a@b>\r\nrcpt to:<c@d>\r\ndata\r\n\r\nno\0nul\r\nrset\r\nnoop\r\nquit now\r\nhelo after\r\n';

async function run(bin: string, args: string[], env: Record<string, string>, input = SESSION): Promise<[number | undefined, string, string]> {
  const r = await execa(bin, args, { input, env, extendEnv: false, reject: false, encoding: 'latin1', stripFinalNewline: false });
  return [r.exitCode, r.stdout, r.stderr.replace(/pid \d+:/g, 'pid PID:')];
}

describe.skipIf(!debian)('rblsmtpd, differential', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await dnsServer({
      txt: { '4.3.2.1.bl.test': ['listed', ' because', '\tof spam'], '1.0.0.127.bl.test': ['x'.repeat(250)] },
      a: { '4.3.2.1.white.test': ['127.0.0.2'] },
      fail: ['4.3.2.1.broken.test'],
    });
  });
  afterAll(async () => {
    await dns?.close();
  });

  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['RBLSMTPD empty accepts', { RBLSMTPD: '' }, ['echo', 'accepted']],
    ['RBLSMTPD text: 451', { RBLSMTPD: 'go away' }, ['echo', 'accepted']],
    ['RBLSMTPD -text: 553', { RBLSMTPD: '-go away\tnow' }, ['echo', 'accepted']],
    ['RBLSMTPD -t0', { RBLSMTPD: 'short' }, ['-t0', 'echo', 'accepted']],
    ['no RBLSMTPD, no list: accept', {}, ['echo', 'accepted']],
    ['-r listed: 451 with the TXT', {}, ['-r', 'bl.test', 'echo', 'accepted']],
    ['-b -r listed: 553', {}, ['-b', '-r', 'bl.test', 'echo', 'accepted']],
    ['-r not listed', {}, ['-r', 'clean.test', 'echo', 'accepted']],
    ['-a whitelisted first', {}, ['-a', 'white.test', '-r', 'bl.test', 'echo', 'accepted']],
    ['usage', {}, ['-r', 'clean.test']],
    ['illegal option', {}, ['-x', 'echo']],
    ['unable to run', { RBLSMTPD: '' }, ['no-such-program']],
  ];
  for (const [what, vars, args] of cases) {
    it(`answers like Debian's: ${what}`, async () => {
      const env = { PATH: '/usr/bin:/bin', TCPREMOTEIP: '1.2.3.4', DNSCACHEIP: dns.ip, ...vars };
      const a = await run(ours('rblsmtpd'), args, env);
      const b = await run(debian!, args, env);
      expect(a).toEqual(b);
    });
  }

  it('treats failed lookups like Debian (all cases at once: each waits for the resolver to give up)', async () => {
    const failing: string[][] = [
      ['-r', 'broken.test', 'echo', 'accepted'],
      ['-b', '-c', '-r', 'broken.test', 'echo', 'accepted'],
      ['-r', 'broken.test', '-b', '-r', 'bl.test', 'echo', 'accepted'],
      ['-c', '-a', 'broken.test', '-r', 'bl.test', 'echo', 'accepted'],
      ['-a', 'broken.test', '-r', 'bl.test', 'echo', 'accepted'],
    ];
    const env = { PATH: '/usr/bin:/bin', TCPREMOTEIP: '1.2.3.4', DNSCACHEIP: dns.ip };
    const got = await Promise.all(failing.flatMap((args) => [run(ours('rblsmtpd'), args, env), run(debian!, args, env)]));
    for (let i = 0; i < got.length; i += 2) expect(got[i]).toEqual(got[i + 1]);
    expect(got[2][1]).toContain('451 temporary RBL lookup error\r\n');
    expect(got[4][1]).toContain('451 listed');
  });

  it('cuts the text at 200 bytes', async () => {
    const env = { PATH: '/usr/bin:/bin', TCPREMOTEIP: '127.0.0.1', DNSCACHEIP: dns.ip };
    const a = await run(ours('rblsmtpd'), ['-t0', '-r', 'bl.test', 'echo'], env);
    expect(a).toEqual(await run(debian!, ['-t0', '-r', 'bl.test', 'echo'], env));
    expect(a[1]).toBe(`451 ${'x'.repeat(200)}\r\n`);
  });

  it.skipIf(!existsSync(ours('qmail-smtpd')))('chains in-process into our qmail-smtpd: one pseudo-pid, no new process', async () => {
    const q = tmpdir();
    mkdirSync(`${q}/control`);
    writeFileSync(`${q}/control/me`, 'test.example\n');
    const env = { PATH: `${ours('rblsmtpd').replace(/\/rblsmtpd$/, '')}:/usr/bin:/bin`, QMAILHOME: q, RBLSMTPD: '' };
    const srv = await startServer(ours('tcpserver'), ['-v', '-R', '-H', '-l0', '127.0.0.1', '0', 'rblsmtpd', 'qmail-smtpd'], env);
    try {
      expect(await talk(srv.port, 'HELO x\r\nQUIT\r\n')).toBe('220 test.example ESMTP\r\n250 test.example\r\n221 test.example\r\n');
      await until(() => /end \d+ status 0/.test(srv.log()));
      expect(Number(/tcpserver: end (\d+) /.exec(srv.log())![1])).toBeGreaterThan(4194304);
    } finally {
      await srv.stop();
    }
  });

  it('hangs up on a silent client after -t seconds, in-process under our tcpserver', async () => {
    const env = { PATH: `${ours('rblsmtpd').replace(/\/rblsmtpd$/, '')}:/usr/bin:/bin`, RBLSMTPD: 'quiet' };
    const srv = await startServer(ours('tcpserver'), ['-v', '-R', '-H', '-l0', '127.0.0.1', '0', 'rblsmtpd', '-t1', 'true'], env);
    try {
      expect(await talk(srv.port, '', '127.0.0.1', true)).toBe('220 rblsmtpd.local\r\n');
      await until(() => /end \d+ status 0/.test(srv.log()));
    } finally {
      await srv.stop();
    }
  });

  it.skipIf(!debianServer)('answers the same in-process under our tcpserver as Debian rblsmtpd under Debian tcpserver, and chains on', async () => {
    for (const [vars, args, want] of [
      [{ RBLSMTPD: '-blocked' }, ['-t', '5'], '553 blocked'],
      [{}, ['-r', 'bl.test'], '451 xxxx'],
      [{ RBLSMTPD: '' }, [], 'accepted'],
    ] as Array<[Record<string, string>, string[], string]>) {
      const env = { PATH: `${ours('rblsmtpd').replace(/\/rblsmtpd$/, '')}:/usr/bin:/bin`, DNSCACHEIP: dns.ip, ...vars };
      const out: string[] = [];
      const logs: string[] = [];
      for (const [server, rbl] of [
        [ours('tcpserver'), 'rblsmtpd'],
        [debianServer!, debian!],
      ]) {
        const srv = await startServer(server, ['-v', '-R', '-H', '-l0', '127.0.0.1', '0', rbl, ...args, 'sh', '-c', 'echo accepted; cat'], env);
        try {
          out.push(await talk(srv.port, SESSION));
          await until(() => /end \d+ status/.test(srv.log()));
          logs.push(normLog(srv.log(), [srv.port]).replace(/^tcpserver: status.*\n/gm, ''));
          // ours ran rblsmtpd in-process: its lines carry a pseudo-pid above 2^22
          if (server === ours('tcpserver')) expect(Number(/tcpserver: ok (\d+) /.exec(srv.log())![1])).toBeGreaterThan(4194304);
        } finally {
          await srv.stop();
        }
      }
      expect(out[0]).toBe(out[1]);
      expect(out[0]).toContain(want);
      expect(logs[0]).toBe(logs[1]);
    }
  });
});
