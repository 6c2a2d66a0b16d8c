/**
 * svcontrol: supervise's state and its one-byte command table
 * (supervise(8), svc(8); ../shared/FORMATS.md section 2, table of control
 * bytes). Pure: control() updates the state and returns what supervise must
 * then do, in order; supervisor.ts carries the effects out.
 *
 *   u  want up; announce; start if not running
 *   d  want down; if running: TERM then CONT, paused cleared; announce
 *   o  no restart wanted ("once"); announce; start if not running
 *   a h k t i  ALRM / HUP / KILL / TERM / INT if running (no announce)
 *   p  paused; announce; STOP if running
 *   c  not paused; announce; CONT if running
 *   x  exit once down; announce
 *   anything else: ignored
 */

/** supervise's flags (daemontools' flagwant/flagwantup/flagpaused/flagexit). */
export interface SvState {
  /** pid of ./run, 0 when not running */
  pid: number;
  /** false after `o`: do not restart when ./run exits */
  want: boolean;
  /** with want: restart (u) or keep down (d) */
  wantUp: boolean;
  paused: boolean;
  /** `x` received: exit as soon as ./run is not running */
  exit: boolean;
}

/** One effect of a control byte. */
export type Effect = { kind: 'announce' } | { kind: 'start' } | { kind: 'signal'; sig: NodeJS.Signals };

const ANNOUNCE: Effect = { kind: 'announce' };
const START: Effect = { kind: 'start' };
const sig = (s: NodeJS.Signals): Effect => ({ kind: 'signal', sig: s });

/** Bytes that only send a signal to a running ./run. */
const SIGNALS: Record<string, NodeJS.Signals> = { a: 'SIGALRM', h: 'SIGHUP', k: 'SIGKILL', t: 'SIGTERM', i: 'SIGINT' };

/** The initial state: want up unless ./down exists. */
export function initialState(normallyDown: boolean): SvState {
  return { pid: 0, want: true, wantUp: !normallyDown, paused: false, exit: false };
}

/** Byte 17 of the status file for a state. */
export function wantByte(s: SvState): 'u' | 'd' | '' {
  return s.want ? (s.wantUp ? 'u' : 'd') : '';
}

/** Apply one control byte (0..255) to s; returns the effects in order. */
export function control(s: SvState, byte: number): Effect[] {
  const c = String.fromCharCode(byte);
  const running = s.pid !== 0;
  switch (c) {
    case 'u':
      s.want = true;
      s.wantUp = true;
      return running ? [ANNOUNCE] : [ANNOUNCE, START];
    case 'd':
      s.want = true;
      s.wantUp = false;
      if (!running) return [ANNOUNCE];
      s.paused = false;
      return [sig('SIGTERM'), sig('SIGCONT'), ANNOUNCE];
    case 'o':
      s.want = false;
      return running ? [ANNOUNCE] : [ANNOUNCE, START];
    case 'p':
      s.paused = true;
      return running ? [ANNOUNCE, sig('SIGSTOP')] : [ANNOUNCE];
    case 'c':
      s.paused = false;
      return running ? [ANNOUNCE, sig('SIGCONT')] : [ANNOUNCE];
    case 'x':
      s.exit = true;
      return [ANNOUNCE];
    default: {
      const name = SIGNALS[c];
      return name !== undefined && running ? [sig(name)] : [];
    }
  }
}
