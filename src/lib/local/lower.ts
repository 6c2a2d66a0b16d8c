/**
 * local/lower: qmail's case_lowerb(): ASCII A-Z to a-z only, every other
 * byte (8-bit ones included) unchanged. Strings are latin1.
 */
export function lowerAscii(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}
