/**
 * Unit tests of the ucspi library modules: log fields, wait statuses, DNS
 * names, rblsmtpd's pieces, the small clients' filters, host/port parsing,
 * pseudo-pids and the launcher recognition of inprocess.ts.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { ours, tmpdir } from './helpers.ts';
import { connLine, safe, waitStatus } from '../src/lib/ucspi/logline.ts';
import { arpaName, djbName } from '../src/lib/ucspi/dns.ts';
import { answer, rblName, rejectMessage } from '../src/lib/ucspi/rbl.ts';
import { catV, HttpBody } from '../src/lib/ucspi/smallclient.ts';
import { scanIp4 } from '../src/lib/ucspi/client.ts';
import { portOf, scanUlong } from '../src/lib/ucspi/hostport.ts';
import { ipText } from '../src/lib/ucspi/tcpenv.ts';
import { inProcessMain, newPseudoPid } from '../src/lib/inprocess.ts';
import { findProgram } from '../src/lib/chain.ts';

describe('logline', () => {
  it('sanitises fields as tcpserver does', () => {
    expect(safe('a:b%c d\x7f\xe9')).toBe('a?b?c?d??');
    expect(safe('x'.repeat(101))).toBe('x'.repeat(100) + '...');
    expect(safe('x'.repeat(100))).toBe('x'.repeat(100));
    expect(connLine('ok', 7, { localIp: '1.2.3.4', localPort: '25', remoteIp: '::1', remotePort: '9', remoteHost: 'h' })).toBe(
      'tcpserver: ok 7 :1.2.3.4:25 h:??1::9',
    );
  });
  it('gives raw wait statuses', () => {
    expect(waitStatus(100, null)).toBe(25600);
    expect(waitStatus(111, null)).toBe(28416);
    expect(waitStatus(null, 'SIGKILL')).toBe(9);
  });
});

describe('dns names', () => {
  it('prints names like dns_domain_todot_cat', () => {
    expect(djbName('Mail.Example.COM.')).toBe('mail.example.com');
    expect(djbName('a_b-c.d')).toBe('a_b-c.d');
    expect(djbName('we ird\\046x')).toBe('we\\040ird\\056x');
  });
  it('builds PTR names for IPv4 and IPv6', () => {
    expect(arpaName('1.2.3.4')).toBe('4.3.2.1.in-addr.arpa');
    expect(arpaName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(arpaName('::ffff:1.2.3.4')).toBe('4.0.3.0.2.0.1.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa');
  });
  it('renders v4-mapped clients as plain IPv4', () => {
    expect(ipText('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(ipText('::1')).toBe('::1');
  });
});

describe('rblsmtpd pieces', () => {
  it('reverses the client address under the base', () => {
    expect(rblName('1.2.3.4', 'bl.test')).toBe('4.3.2.1.bl.test');
    expect(rblName('', 'bl.test')).toBe('bl.test');
    expect(rblName('2001:db8::1', 'bl.test')).toMatch(/^1\.0\.0\.0\..*\.8\.b\.d\.0\.1\.0\.0\.2\.bl\.test$/);
  });
  it('formats and cuts the reject message', () => {
    expect(rejectMessage({ permanent: true, text: 'a\tb' })).toBe('553 a?b');
    expect(rejectMessage({ permanent: false, text: 'y'.repeat(300) })).toBe('451 ' + 'y'.repeat(200));
  });
  it('answers commands', () => {
    const m = '451 no';
    expect(answer(Buffer.from('QUIT now\r'), m)).toBe('221 rblsmtpd.local\r\n');
    expect(answer(Buffer.from('eHlO x'), m)).toBe('250 rblsmtpd.local\r\n');
    expect(answer(Buffer.from('rcpt to:<a>'), m)).toBe('451 no\r\n');
    expect(answer(Buffer.from(''), m)).toBe('451 no\r\n');
  });
});

describe('small clients', () => {
  it('renders like cat -v', () => {
    expect(catV(Buffer.from([0x01, 0x09, 0x0a, 0x7f, 0xe9, 0x80, 0xff])).toString()).toBe('^A\t\n^?M-iM-^@M-^?');
  });
  it("filters http@'s body like its awk, in any chunking", () => {
    const text = 'HTTP/1.0 200\nA: b\n\nbody\n\nmore\nlast';
    for (const size of [1, 3, 100]) {
      const h = new HttpBody();
      let out = '';
      for (let i = 0; i < text.length; i += size) out += h.push(Buffer.from(text.slice(i, i + size))).toString();
      out += h.end().toString();
      expect(out).toBe('body\nmore\nlast\n');
    }
  });
});

describe('host and port parsing', () => {
  it('reads addresses and ports as ucspi-tcp does', () => {
    expect(scanIp4('127.000.000.001')).toBe('127.0.0.1');
    expect(scanIp4('[10.1.2.3]')).toBe('10.1.2.3');
    expect(scanIp4('256.1.1.1')).toBe(undefined);
    expect(scanUlong('12ab')).toEqual([12, 2]);
    expect(portOf('')).toBe(0);
    expect(portOf('25')).toBe(25);
    expect(portOf('smtp')).toBe(25);
    expect(portOf('no-such-service')).toBe(undefined);
  });
});

describe('in-process recognition', () => {
  it('takes our opted-in launchers only, through symlinks too', async () => {
    const d = tmpdir();
    expect(await inProcessMain(ours('rblsmtpd'))).toBeTypeOf('function');
    expect(await inProcessMain(ours('tcpserver'))).toBe(undefined); // not opted in
    expect(await inProcessMain('/bin/sh')).toBe(undefined);
    symlinkSync(ours('rblsmtpd'), `${d}/rblsmtpd`);
    expect(await inProcessMain(`${d}/rblsmtpd`)).toBeTypeOf('function');
    // a copy outside the checkout is someone else's program: exec it
    writeFileSync(`${d}/copy`, (await import('node:fs')).readFileSync(ours('rblsmtpd')));
    chmodSync(`${d}/copy`, 0o755);
    expect(await inProcessMain(`${d}/copy`)).toBe(undefined);
    expect(findProgram('rblsmtpd', `/nonexistent::${d}`)).toBe(`${d}/rblsmtpd`);
    expect(() => findProgram('no-such', '/bin')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
  it('hands out pseudo-pids above PID_MAX_LIMIT', () => {
    const a = newPseudoPid();
    expect(a).toBeGreaterThan(4194304);
    expect(newPseudoPid()).toBe(a + 1);
  });
});
