/**
 * rlimit: softlimit's limit arithmetic (softlimit(8), daemontools 0.76;
 * ../shared/FORMATS.md section 12).
 *
 * Public functions:
 *   parseLimit(arg) -> bigint | '=' | undefined   a softlimit option value
 *   softLimit(resource, value) -> SoftLimit        what one option sets
 *   applyLimits(limits)                            setrlimit them, in order
 *   LIMIT_FLAGS                                    option letter -> resources
 *
 * Limits are bigints here (RLIM_INFINITY = 2^64-1); the native shim speaks
 * numbers with -1 for infinity. Errors from get/setrlimit are thrown with
 * `.code` = errno name.
 */
import { sys } from './native.ts';

/** RLIM_INFINITY on Linux (all ones in a 64-bit rlim_t). */
export const RLIM_INFINITY = (1n << 64n) - 1n;

/** softlimit's option letters and the resources each one sets, in order. */
export const LIMIT_FLAGS: Record<string, Array<keyof typeof sys.rlimitNames>> = {
  a: ['AS'],
  c: ['CORE'],
  d: ['DATA'],
  f: ['FSIZE'],
  l: ['MEMLOCK'],
  m: ['DATA', 'STACK', 'MEMLOCK', 'AS'],
  o: ['NOFILE'],
  p: ['NPROC'],
  r: ['RSS'],
  s: ['STACK'],
  t: ['CPU'],
};

/**
 * An option value: `=` (soft := hard), or a decimal number (digits only, the
 * empty string is 0, wrapping modulo 2^64 like DJB's scan_ulong). Anything
 * else (sign, spaces, trailing junk) -> undefined: the caller's usage error.
 */
export function parseLimit(arg: string): bigint | '=' | undefined {
  if (arg === '=') return '=';
  if (!/^[0-9]*$/.test(arg)) return undefined;
  return arg === '' ? 0n : BigInt(arg) & RLIM_INFINITY;
}

function big(n: number): bigint {
  return n < 0 ? RLIM_INFINITY : BigInt(n);
}

function num(b: bigint): number {
  return b >= RLIM_INFINITY ? -1 : Number(b);
}

/** A soft limit to set: resource, and soft/hard as the native shim takes them (-1 = infinity). */
export interface SoftLimit {
  resource: keyof typeof sys.rlimitNames;
  soft: number;
  hard: number;
}

/**
 * The soft limit softlimit would set for resource: value (`=`: the hard
 * limit), clamped to the hard limit; the hard limit stays. Reads the current
 * limits (getrlimit errors are thrown with `.code`).
 */
export function softLimit(resource: keyof typeof sys.rlimitNames, value: bigint | '='): SoftLimit {
  const [, hard] = sys.getrlimit(sys.rlimitNames[resource]);
  const h = big(hard);
  const want = value === '=' || value > h ? h : value;
  return { resource, soft: num(want), hard };
}

/**
 * Set the limits, in order. Do this as the very last thing before an exec:
 * a low data or address-space limit leaves Node unable to allocate memory.
 * setrlimit errors are thrown with `.code`.
 */
export function applyLimits(limits: readonly SoftLimit[]): void {
  for (const l of limits) sys.setrlimit(sys.rlimitNames[l.resource], l.soft, l.hard);
}
