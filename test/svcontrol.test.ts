/**
 * svcontrol: supervise's command table, byte by byte (FORMATS.md section 2).
 */
import { describe, expect, it } from 'vitest';
import { control, initialState, wantByte, type SvState } from '../src/lib/svcontrol.ts';

const st = (pid: number, over: Partial<SvState> = {}): SvState => ({ ...initialState(false), pid, ...over });
const kinds = (s: SvState, c: string): string[] =>
  control(s, c.charCodeAt(0)).map((e) => (e.kind === 'signal' ? e.sig : e.kind));

describe('svcontrol', () => {
  it('initial want byte: u normally, d with ./down', () => {
    expect(wantByte(initialState(false))).toBe('u');
    expect(wantByte(initialState(true))).toBe('d');
  });

  it('each command letter, running and not running', () => {
    const table: Array<[string, string[], string[]]> = [
      // byte, effects when running, effects when down
      ['u', ['announce'], ['announce', 'start']],
      ['d', ['SIGTERM', 'SIGCONT', 'announce'], ['announce']],
      ['o', ['announce'], ['announce', 'start']],
      ['p', ['announce', 'SIGSTOP'], ['announce']],
      ['c', ['announce', 'SIGCONT'], ['announce']],
      ['x', ['announce'], ['announce']],
      ['a', ['SIGALRM'], []],
      ['h', ['SIGHUP'], []],
      ['k', ['SIGKILL'], []],
      ['t', ['SIGTERM'], []],
      ['i', ['SIGINT'], []],
    ];
    for (const [c, up, down] of table) {
      expect(kinds(st(42), c), `${c} running`).toEqual(up);
      expect(kinds(st(0), c), `${c} down`).toEqual(down);
    }
  });

  it('flags after each letter', () => {
    const s = st(42);
    control(s, 0x64);
    expect([wantByte(s), s.paused]).toEqual(['d', false]);
    control(s, 0x70);
    expect(s.paused).toBe(true);
    control(s, 0x64);
    expect(s.paused).toBe(false);
    control(s, 0x6f);
    expect(wantByte(s)).toBe('');
    control(s, 0x75);
    expect(wantByte(s)).toBe('u');
    control(s, 0x78);
    expect(s.exit).toBe(true);
  });

  it('every other byte is ignored and changes nothing', () => {
    for (let b = 0; b < 256; b++) {
      if ('udopcxahkti'.includes(String.fromCharCode(b))) continue;
      const s = st(42);
      const before = JSON.stringify(s);
      expect(control(s, b)).toEqual([]);
      expect(JSON.stringify(s)).toBe(before);
    }
  });
});
