/**
 * send/controls: the control files qmail-send reads (qmail-send(8) CONTROL
 * FILES; qmail-send.c's getcontrols/regetcontrols), with qmail-control(5)'s
 * defaults: queuelifetime (604800 s), concurrencylocal (10),
 * concurrencyremote (20), envnoathost, bouncefrom (MAILER-DAEMON),
 * bouncehost, doublebouncehost, doublebounceto (postmaster), locals (me; a
 * missing locals and me is an error), percenthack, virtualdomains; and the
 * optional bouncemaxbytes (a common qmail patch: quote at most that many
 * bytes of the original message in a bounce; 0 or missing = all).
 * Only locals and virtualdomains are reread on HUP.
 */
import { Control } from '../control.ts';
import { makeMaps, type RewriteMaps } from './rewrite.ts';

/** Everything qmail-send takes from control/. */
export interface SendControls {
  /** queuelifetime, seconds */
  lifetime: number;
  /** concurrencylocal, concurrencyremote */
  concurrency: [number, number];
  bouncefrom: string;
  bouncehost: string;
  /** doublebounceto@doublebouncehost */
  doublebounceto: string;
  /** 0 = no limit */
  bouncemaxbytes: number;
  maps: RewriteMaps;
}

/** Read all controls (getcontrols). Throws when a file cannot be read or locals has no value. */
export function readControls(home: string): SendControls {
  const c = new Control(home);
  const envnoathost = c.line('envnoathost');
  const locals = c.readfile('locals', true);
  if (locals === undefined) throw Object.assign(new Error('no locals'), { code: 'ENOENT' });
  return {
    lifetime: c.int('queuelifetime'),
    concurrency: [c.int('concurrencylocal'), c.int('concurrencyremote')],
    bouncefrom: c.line('bouncefrom'),
    bouncehost: c.line('bouncehost'),
    doublebounceto: `${c.line('doublebounceto')}@${c.line('doublebouncehost')}`,
    bouncemaxbytes: c.readint('bouncemaxbytes') ?? 0,
    maps: makeMaps(locals, c.readfile('percenthack') ?? [], c.readfile('virtualdomains') ?? [], envnoathost),
  };
}

/**
 * The HUP reread (regetcontrols): new maps with fresh locals and
 * virtualdomains, keeping percenthack and envnoathost. Returns the name of
 * the file that could not be read instead, leaving the caller's maps alone.
 */
export function rereadMaps(home: string, old: RewriteMaps): RewriteMaps | 'locals' | 'virtualdomains' {
  const c = new Control(home);
  let locals: string[] | undefined;
  try {
    locals = c.readfile('locals', true);
  } catch {
    return 'locals';
  }
  if (locals === undefined) return 'locals';
  let vd: string[] | undefined;
  try {
    vd = c.readfile('virtualdomains');
  } catch {
    return 'virtualdomains';
  }
  const m = makeMaps(locals, [], vd ?? [], old.envnoathost);
  m.percenthack = old.percenthack;
  return m;
}
