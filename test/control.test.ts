/**
 * control files (qmail-control(5), control.c semantics) and QMAILHOME.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from './helpers.ts';
import { Control, CONTROL_DEFAULTS } from '../src/lib/control.ts';
import { qmailHome } from '../src/lib/qmailhome.ts';

function ctl(files: Record<string, string>): Control {
  const h = tmpdir();
  mkdirSync(`${h}/control`);
  for (const [n, t] of Object.entries(files)) writeFileSync(`${h}/control/${n}`, t, 'latin1');
  return new Control(h);
}

describe('qmailHome', () => {
  it('is /var/qmail unless QMAILHOME is set and non-empty', () => {
    expect(qmailHome({})).toBe('/var/qmail');
    expect(qmailHome({ QMAILHOME: '' })).toBe('/var/qmail');
    expect(qmailHome({ QMAILHOME: '/srv/q' })).toBe('/srv/q');
  });
});

describe('Control', () => {
  it('readline: first line, trailing spaces/tabs/newline stripped, no comment handling', () => {
    const c = ctl({ me: 'mail.example.com \t \nsecond\n', hash: '# not a comment\n', empty: '', nonl: 'x.y', lead: '  x  \n', crlf: 'a\r\n' });
    expect(c.readline('me')).toBe('mail.example.com');
    expect(c.readline('hash')).toBe('# not a comment');
    expect(c.readline('empty')).toBe('');
    expect(c.readline('nonl')).toBe('x.y');
    expect(c.readline('lead')).toBe('  x');
    expect(c.readline('crlf')).toBe('a\r');
    expect(c.readline('missing')).toBeUndefined();
  });

  it('readfile: all lines, comments and blank lines skipped; missing -> [me] only with flagme', () => {
    const c = ctl({ me: 'me.example\n', rcpthosts: '# hosts\nexample.com  \n\n \t\n .sub.example\nlast' });
    expect(c.readfile('rcpthosts')).toEqual(['example.com', ' .sub.example', 'last']);
    expect(c.readfile('locals')).toBeUndefined();
    expect(c.readfile('locals', true)).toEqual(['me.example']);
    expect(ctl({}).readfile('locals', true)).toBeUndefined();
  });

  it('readint: leading digits; missing or non-numeric means the default', () => {
    const c = ctl({ a: '25\n', b: '12abc\n', c: ' 12\n', d: 'x\n', e: '0\n' });
    expect([c.readint('a'), c.readint('b'), c.readint('c'), c.readint('d'), c.readint('e'), c.readint('z')]).toEqual([25, 12, undefined, undefined, 0, undefined]);
    expect(c.int('concurrencylocal')).toBe(10);
    expect(ctl({ concurrencyremote: 'junk' }).int('concurrencyremote')).toBe(20);
    expect(ctl({ queuelifetime: '3600 ' }).int('queuelifetime')).toBe(3600);
  });

  it('applies qmail-control(5) defaults: me, then the literal name', () => {
    const c = ctl({ me: 'm.example\n', plusdomain: 'p.example\n' });
    expect(c.line('plusdomain')).toBe('p.example');
    expect(c.line('defaultdomain')).toBe('m.example');
    expect(c.line('bouncefrom')).toBe('MAILER-DAEMON');
    expect(c.line('doublebounceto')).toBe('postmaster');
    expect(c.list('locals')).toEqual(['m.example']);
    expect(c.list('rcpthosts')).toEqual([]);
    const none = ctl({});
    expect(none.me()).toBeUndefined();
    expect(none.line('bouncehost')).toBe('bouncehost');
    expect(none.line('envnoathost')).toBe('envnoathost');
    expect(Object.keys(CONTROL_DEFAULTS).length).toBe(27);
    expect(() => c.line('databytes')).toThrow();
  });

  it('throws (with errno code) on errors other than a missing file', () => {
    const c = ctl({});
    mkdirSync(`${c.dir}/me`);
    expect(() => c.readline('me')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
