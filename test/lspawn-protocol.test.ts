import { describe, expect, it } from 'vitest';
import {
  CommandParser, ReportParser, checkCommand, encodeCommand, encodeGreeting, encodeReport, localReport, verpSender, TRUNCMESS,
} from '../src/lib/spawn/protocol.ts';

describe('spawn protocol', () => {
  it('encodes and parses commands in any chunking', () => {
    const a = encodeCommand({ delnum: 0, messid: '7/1234', sender: 'joe@a.b', recipient: 'x@y.z' });
    const b = encodeCommand({ delnum: 5, messid: '8/99', sender: '', recipient: 'm\xe9@y.z' });
    expect(a.equals(Buffer.from('\x007/1234\x00joe@a.b\x00x@y.z\x00', 'latin1'))).toBe(true);
    const all = Buffer.concat([a, b]);
    for (const step of [1, 3, 17, all.length]) {
      const p = new CommandParser();
      const got = [];
      for (let i = 0; i < all.length; i += step) got.push(...p.push(all.subarray(i, i + step)));
      expect(got).toEqual([
        { delnum: 0, messid: '7/1234', sender: 'joe@a.b', recipient: 'x@y.z' },
        { delnum: 5, messid: '8/99', sender: '', recipient: 'm\xe9@y.z' },
      ]);
      expect(p.idle()).toBe(true);
    }
  });

  it('encodes and parses reports; slot 0 frame is not cut at its first byte', () => {
    const r = Buffer.concat([encodeReport(0, 'K', 'did 0+0+1\n'), encodeReport(3, 'D', 'Sorry.\n\0junk')]);
    expect(r.subarray(0, 3).equals(Buffer.from('\x00Kd', 'latin1'))).toBe(true);
    for (const step of [1, 2, r.length]) {
      const p = new ReportParser();
      const got = [];
      for (let i = 0; i < r.length; i += step) got.push(...p.push(r.subarray(i, i + step)));
      expect(got).toEqual([
        { delnum: 0, status: 'K', text: 'did 0+0+1\n' },
        { delnum: 3, status: 'D', text: 'Sorry.\n' },
      ]);
    }
  });

  it('truncates long reports as qmail-lspawn does', () => {
    const f = encodeReport(1, 'D', 'x'.repeat(5000));
    expect(f.length).toBe(3000 - 3 + 3); // 2966 bytes + TRUNCMESS (31)
    expect(f.subarray(2, -1).toString('latin1').endsWith(TRUNCMESS)).toBe(true);
    expect(encodeGreeting()).toEqual(Buffer.from([120]));
  });

  it('checks commands with spawn.c texts', () => {
    const c = { delnum: 1, messid: '7/12', sender: '', recipient: 'a@b' };
    expect(checkCommand(c, 10, () => false)).toBeUndefined();
    expect(checkCommand({ ...c, delnum: 10 }, 10, () => false)).toBe('ZInternal error: delnum too big. (#4.3.5)\n');
    expect(checkCommand(c, 10, () => true)).toBe('ZInternal error: delnum in use. (#4.3.5)\n');
    expect(checkCommand({ ...c, messid: '/7' }, 10, () => false)).toBe('DInternal error: messid has nonnumerics. (#5.3.5)\n');
    expect(checkCommand({ ...c, messid: '' }, 10, () => false)).toBe('DInternal error: messid too short. (#5.3.5)\n');
    expect(checkCommand({ ...c, recipient: 'ab' }, 10, () => false)).toBe('DSorry, address must include host name. (#5.1.3)\n');
  });

  it('maps exit codes like qmail-lspawn report()', () => {
    expect(localReport({ code: 0 }, 'did 1+0+0\n')).toEqual({ status: 'K', text: 'did 1+0+0\n' });
    expect(localReport({ code: 111 }, 'x\0y')).toEqual({ status: 'Z', text: 'x' });
    expect(localReport({ code: 75 }, 'x')).toEqual({ status: 'Z', text: 'x' });
    expect(localReport({ code: 100 }, 'x')).toEqual({ status: 'D', text: 'x' });
    expect(localReport({ code: 99 }, 'x')).toEqual({ status: 'D', text: 'x' });
    expect(localReport({ code: 113 }, 'x')).toEqual({ status: 'Z', text: 'Not allowed to perform deliveries as root.\n' });
    expect(localReport({ code: 126 }, 'x')).toEqual({ status: 'D', text: 'Unable to run qmail-local.\n' });
    expect(localReport({ code: 0, crashed: true }, 'x')).toEqual({ status: 'Z', text: 'qmail-local crashed.\n' });
  });

  it('VERP sender rewriting (senderadd)', () => {
    expect(verpSender('owner-@host-@[]', 'joe@a.b')).toBe('owner-joe=a.b@host');
    expect(verpSender('plain@x', 'joe@a.b')).toBe('plain@x');
    expect(verpSender('owner-@host-@[]', 'joe')).toBe('owner-@host-@[]');
    expect(verpSender('-@[]', 'joe@a.b')).toBe('-@[]');
  });
});
