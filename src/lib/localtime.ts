/**
 * localtime: Unix time -> local civil time following TZ the way glibc's
 * tzset()/localtime() do, for tai64nlocal (and anything else that must print
 * local time exactly as the C tools do). Node's Date/Intl know IANA names
 * only; this module also reads POSIX TZ rule strings and TZif files itself.
 *
 * Public functions:
 *   zoneFor(tz)       -> Zone   the zone TZ selects (undefined = TZ unset)
 *   readTzif(bytes, remap?) -> Zone   a TZif v1/v2/v3/v4 file (tzfile(5), RFC 8536)
 *   parsePosixTz(s, defaultRules?) -> Zone | undefined   a POSIX TZ string (tzset(3))
 *   civil(t, offset)  -> Tm     broken-down time for a UTC offset
 *   Zone.localtime(t) -> Tm     t in Unix seconds (integer)
 *
 * TZ selection (glibc): TZ unset -> /etc/localtime; TZ empty -> UTC
 * ("Universal"); a leading `:` is dropped; the rest names a file (absolute, or
 * under $TZDIR or /usr/share/zoneinfo); if that cannot be read as TZif it is
 * parsed as a POSIX string (`EST5EDT,M3.2.0,M11.1.0`, `<+03>-3`, J/n/M
 * rules, /time with hours up to 167 and negative; DST without rules takes
 * the transitions of $TZDIR/posixrules); if that fails too, UTC.
 * In a file: before the first transition the first non-DST type applies (LMT);
 * from the last transition on, the footer's POSIX string (v2+) if present;
 * leap-second records (right/ zones) shift the time and yield second 60.
 * Units: seconds; offsets are seconds east of UTC. Never throws.
 */
import { readFileSync } from 'node:fs';

/** Broken-down time (struct tm with human months and full years). */
export interface Tm {
  /** full year (may be <= 0 or huge) */
  year: number;
  /** 1..12 */
  mon: number;
  mday: number;
  hour: number;
  min: number;
  /** 0..60 (60 only at a leap second) */
  sec: number;
  /** 0 = Sunday */
  wday: number;
  /** 0..365 */
  yday: number;
  isdst: boolean;
  /** seconds east of UTC */
  gmtoff: number;
}

export interface Zone {
  localtime(t: number): Tm;
}

const DAY = 86400;

/** Days from 1970-01-01 to year-mon-day (proleptic Gregorian). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Broken-down time of Unix time t at UTC offset `offset` (seconds east). */
export function civil(t: number, offset: number, isdst = false): Tm {
  const s = t + offset;
  const days = Math.floor(s / DAY);
  let rem = s - days * DAY;
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const min = Math.floor(rem / 60);
  const sec = rem - min * 60;
  // civil from days (Hinnant's algorithm)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const mday = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const mon = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (mon <= 2 ? 1 : 0);
  const wday = (((days + 4) % 7) + 7) % 7;
  const yday = days - daysFromCivil(year, 1, 1);
  return { year, mon, mday, hour, min, sec, wday, yday, isdst, gmtoff: offset };
}

const UTC: Zone = { localtime: (t) => civil(t, 0) };

// ---------------------------------------------------------------------------
// POSIX TZ strings

/** A DST change rule: Jn (1..365, no Feb 29), n (0..365), or Mm.w.d; at secs local time. */
interface Rule {
  kind: 'J' | 'D' | 'M';
  n: number;
  m: number;
  w: number;
  d: number;
  secs: number;
}

/** Cursor over a TZ string. */
class Scan {
  s: string;
  i = 0;
  constructor(s: string) {
    this.s = s;
  }
  /** the current character, '' at the end */
  c(): string {
    return this.s[this.i] ?? '';
  }
  num(): number | undefined {
    const m = /^[0-9]+/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return Number(m[0]);
  }
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** std/dst name: 3+ letters, or <...> with letters, digits, + and - (3+ chars). */
function parseName(sc: Scan): string | undefined {
  if (sc.c() === '<') {
    const end = sc.s.indexOf('>', sc.i + 1);
    if (end < 0) return undefined;
    const name = sc.s.slice(sc.i + 1, end);
    if (name.length < 3 || !/^[A-Za-z0-9+-]*$/.test(name)) return undefined;
    sc.i = end + 1;
    return name;
  }
  const m = /^[A-Za-z]+/.exec(sc.s.slice(sc.i));
  if (!m || m[0].length < 3) return undefined;
  sc.i += m[0].length;
  return m[0];
}

/** [+-]hh[:mm[:ss]] as seconds (POSIX sign: positive = west); hh <= maxH. */
function parseHms(sc: Scan, maxH: number): number | undefined {
  let sign = 1;
  if (sc.c() === '+' || sc.c() === '-') {
    if (sc.c() === '-') sign = -1;
    sc.i++;
  }
  if (!isDigit(sc.c())) return undefined;
  const h = sc.num()!;
  let m = 0;
  let s = 0;
  if (sc.c() === ':' && isDigit(sc.s[sc.i + 1] ?? '')) {
    sc.i++;
    m = sc.num()!;
    if (sc.c() === ':' && isDigit(sc.s[sc.i + 1] ?? '')) {
      sc.i++;
      s = sc.num()!;
    }
  }
  return sign * (Math.min(h, maxH) * 3600 + Math.min(m, 59) * 60 + Math.min(s, 59));
}

function parseRule(sc: Scan): Rule | undefined {
  if (sc.c() !== ',') return undefined;
  sc.i++;
  let r: Rule;
  if (sc.c() === 'J') {
    sc.i++;
    const n = sc.num();
    if (n === undefined || n < 1 || n > 365) return undefined;
    r = { kind: 'J', n, m: 0, w: 0, d: 0, secs: 7200 };
  } else if (isDigit(sc.c())) {
    const n = sc.num()!;
    if (n > 365) return undefined;
    r = { kind: 'D', n, m: 0, w: 0, d: 0, secs: 7200 };
  } else if (sc.c() === 'M') {
    sc.i++;
    const m = sc.num();
    if (m === undefined || m < 1 || m > 12 || sc.c() !== '.') return undefined;
    sc.i++;
    const w = sc.num();
    if (w === undefined || w < 1 || w > 5 || sc.c() !== '.') return undefined;
    sc.i++;
    const d = sc.num();
    if (d === undefined || d > 6) return undefined;
    r = { kind: 'M', n: 0, m, w, d, secs: 7200 };
  } else return undefined;
  if (sc.c() === '/') {
    sc.i++;
    const secs = parseHms(sc, 167);
    if (secs === undefined) return undefined;
    r.secs = secs;
  }
  return r;
}

/**
 * Unix time at which rule fires in `year`, for a zone `offset` seconds east
 * before the change. As glibc, day counts start from 1970-01-01 instead of
 * the year's own 1 January for every year up to 1970 (so rules never fire
 * in those years: northern zones stay standard, southern ones DST).
 */
function changeTime(r: Rule, year: number, offset: number): number {
  const jan1 = daysFromCivil(year, 1, 1);
  const base = year > 1970 ? jan1 : 0;
  let days: number;
  if (r.kind === 'J') {
    days = base + r.n - 1 + (isLeap(year) && r.n >= 60 ? 1 : 0);
  } else if (r.kind === 'D') {
    days = base + r.n;
  } else {
    const first = daysFromCivil(year, r.m, 1);
    const dow = (((first + 4) % 7) + 7) % 7;
    const mlen = daysFromCivil(r.m === 12 ? year + 1 : year, r.m === 12 ? 1 : r.m + 1, 1) - first;
    let d = r.d - dow;
    if (d < 0) d += 7;
    for (let i = 1; i < r.w; i++) {
      if (d + 7 >= mlen) break;
      d += 7;
    }
    days = base + (first - jan1) + d;
  }
  return days * DAY + r.secs - offset;
}

/**
 * A zone from a POSIX TZ string (`STDoff[DST[off][,start[/time],end[/time]]]`),
 * or undefined when it cannot be parsed. DST without rules uses the
 * transitions of the `posixrules` file that defaultRules() returns, as glibc
 * does (see remapTypes), or else the US rules (M3.2.0,M11.1.0). Which year's rules apply is decided by the UTC year of t,
 * as glibc does.
 */
export function parsePosixTz(s: string, defaultRules?: () => Buffer | undefined): Zone | undefined {
  const sc = new Scan(s);
  if (parseName(sc) === undefined) return undefined;
  const stdW = parseHms(sc, 24);
  if (stdW === undefined) return undefined;
  const std = -stdW;
  if (sc.i >= s.length) return { localtime: (t) => civil(t, std) };
  if (parseName(sc) === undefined) return { localtime: (t) => civil(t, std) };
  let dst = std + 3600;
  if (sc.c() !== ',' && sc.c() !== '') {
    const w = parseHms(sc, 24);
    if (w !== undefined) dst = -w;
  }
  if (sc.i >= s.length || (sc.c() === ',' && sc.i + 1 === s.length)) {
    const bytes = defaultRules?.();
    const z = bytes && readTzif(bytes, { std, dst });
    if (z) return z;
  }
  let start: Rule | undefined;
  let end: Rule | undefined;
  if (sc.c() === ',' && sc.i + 1 < s.length) {
    start = parseRule(sc);
    end = start && parseRule(sc);
  }
  start ??= { kind: 'M', n: 0, m: 3, w: 2, d: 0, secs: 7200 };
  end ??= { kind: 'M', n: 0, m: 11, w: 1, d: 0, secs: 7200 };
  const s0 = start;
  const e0 = end;
  return {
    localtime(t: number): Tm {
      const year = civil(t, 0).year;
      const on = changeTime(s0, year, std);
      const off = changeTime(e0, year, dst);
      const isdst = on > off ? t < off || t >= on : t >= on && t < off;
      return civil(t, isdst ? dst : std, isdst);
    },
  };
}

// ---------------------------------------------------------------------------
// TZif files

interface TType {
  off: number;
  isdst: boolean;
}

/** The index of the last element of sorted a that is <= t, or -1. */
function lastAtOrBefore(a: number[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * A zone from TZif bytes (tzfile(5)); undefined if they are not TZif. For
 * version 2+ the 64-bit data and the footer are used.
 */
export function readTzif(b: Buffer, remap?: { std: number; dst: number }): Zone | undefined {
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'TZif') return undefined;
  const version = b[4];
  const counts = (o: number): number[] => [0, 1, 2, 3, 4, 5].map((k) => b.readUInt32BE(o + 20 + 4 * k));
  let [isut, isstd, leapcnt, timecnt, typecnt, charcnt] = counts(0);
  let o = 44;
  let wide = false;
  if (version >= 0x32) {
    o += timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstd + isut;
    if (b.length < o + 44 || b.toString('latin1', o, o + 4) !== 'TZif') return undefined;
    [isut, isstd, leapcnt, timecnt, typecnt, charcnt] = counts(o);
    o += 44;
    wide = true;
  }
  const tsz = wide ? 8 : 4;
  const need = timecnt * (tsz + 1) + typecnt * 6 + charcnt + leapcnt * (tsz + 4) + isstd + isut;
  if (typecnt === 0 || b.length < o + need) return undefined;
  const readT = (p: number): number => (wide ? Number(b.readBigInt64BE(p)) : b.readInt32BE(p));
  const trans: number[] = [];
  for (let i = 0; i < timecnt; i++) trans.push(readT(o + i * tsz));
  o += timecnt * tsz;
  const idx: number[] = [];
  for (let i = 0; i < timecnt; i++) idx.push(b[o + i]);
  o += timecnt;
  const types: TType[] = [];
  for (let i = 0; i < typecnt; i++) types.push({ off: b.readInt32BE(o + i * 6), isdst: b[o + i * 6 + 4] !== 0 });
  o += typecnt * 6 + charcnt;
  const leapAt: number[] = [];
  const leapCorr: number[] = [];
  for (let i = 0; i < leapcnt; i++) {
    leapAt.push(readT(o + i * (tsz + 4)));
    leapCorr.push(b.readInt32BE(o + i * (tsz + 4) + tsz));
  }
  o += leapcnt * (tsz + 4);
  const stdInd = isstd === typecnt ? [...b.subarray(o, o + isstd)].map((x) => x !== 0) : new Array<boolean>(typecnt).fill(false);
  o += isstd + isut;
  if (remap) remapTypes(trans, idx, types, stdInd, remap.std, remap.dst);
  let footer: Zone | undefined;
  if (wide && b[o] === 0x0a) {
    const end = b.indexOf(0x0a, o + 1);
    if (end > o + 1) footer = parsePosixTz(b.toString('latin1', o + 1, end));
  }
  let first = types.findIndex((x) => !x.isdst);
  if (first < 0) first = 0;
  if (idx.some((k) => k >= typecnt)) return undefined;

  return {
    localtime(t: number): Tm {
      // leap seconds: correction in effect, and whether t is an inserted second
      let corr = 0;
      let hit = 0;
      let li = lastAtOrBefore(leapAt, t);
      if (li >= 0) {
        corr = leapCorr[li];
        if (t === leapAt[li] && ((li === 0 && leapCorr[li] > 0) || (li > 0 && leapCorr[li] > leapCorr[li - 1]))) {
          hit = 1;
          while (li > 0 && leapAt[li] === leapAt[li - 1] + 1 && leapCorr[li] === leapCorr[li - 1] + 1) {
            hit++;
            li--;
          }
        }
      }
      let tm: Tm;
      if (timecnt === 0 || t < trans[0]) {
        const ty = types[first];
        tm = civil(t - corr, ty.off, ty.isdst);
      } else if (footer && t >= trans[timecnt - 1]) {
        tm = footer.localtime(t - corr);
      } else {
        const ty = types[idx[lastAtOrBefore(trans, t)]];
        tm = civil(t - corr, ty.off, ty.isdst);
      }
      tm.sec += hit;
      return tm;
    },
  };
}

/**
 * glibc's use of the `posixrules` file for a TZ string with a DST name but
 * no rules (`CET-1CEST`): the file's transitions, each shifted by the
 * difference between the user's offset and the file's own standard or DST
 * offset (east; the DST one for a change out of DST given in wall-clock
 * time), and every type given the user's standard or DST offset. The
 * file's footer stays as it is (so after its last transition the file's own
 * zone applies, as glibc does).
 */
function remapTypes(trans: number[], idx: number[], types: TType[], stdInd: boolean[], std: number, dst: number): void {
  let fstd: number | undefined;
  let fdst: number | undefined;
  for (const k of idx) {
    if (types[k].isdst) fdst ??= types[k].off;
    else fstd ??= types[k].off;
  }
  let isdst = false;
  for (let i = 0; i < trans.length; i++) {
    const k = idx[i];
    trans[i] += isdst && !stdInd[k] ? dst - (fdst ?? 0) : std - (fstd ?? 0);
    isdst = types[k].isdst;
  }
  for (const ty of types) ty.off = ty.isdst ? dst : std;
}

// ---------------------------------------------------------------------------
// TZ selection

function loadFile(path: string): Zone | undefined {
  try {
    return readTzif(readFileSync(path));
  } catch {
    return undefined;
  }
}

/**
 * The zone glibc's tzset() selects for a TZ value (undefined = TZ unset).
 * tzdir is $TZDIR (default /usr/share/zoneinfo).
 */
export function zoneFor(tz: string | undefined, tzdir = '/usr/share/zoneinfo'): Zone {
  if (tz === undefined) return loadFile('/etc/localtime') ?? UTC;
  let name = tz === '' ? 'Universal' : tz;
  if (name.startsWith(':')) name = name.slice(1);
  if (name === '') return loadFile('/etc/localtime') ?? UTC;
  const file = loadFile(name.startsWith('/') ? name : `${tzdir}/${name}`);
  const rules = () => {
    try {
      return readFileSync(`${tzdir}/posixrules`);
    } catch {
      return undefined;
    }
  };
  return file ?? parsePosixTz(name, rules) ?? UTC;
}
