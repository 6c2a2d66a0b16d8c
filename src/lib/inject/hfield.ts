/**
 * inject/hfield: header field names as qmail-header(5) and qmail-inject know
 * them (the table and matching rules of qmail's hfield.c). A field is
 * `known` when its name matches one of HNAMES without regard to the case of
 * letters, optionally followed by blanks, then `:`; `valid` when there is a
 * `:` and the name before it (trailing blanks removed) is non-empty and all
 * printable ASCII without spaces. Strings are latin1.
 */

/** Field names by number (H.*); index 0 is "not a known field". */
export const HNAMES = [
  'unknown-header', 'sender', 'from', 'reply-to', 'to', 'cc', 'bcc', 'date', 'message-id', 'subject',
  'resent-sender', 'resent-from', 'resent-reply-to', 'resent-to', 'resent-cc', 'resent-bcc', 'resent-date',
  'resent-message-id', 'return-receipt-to', 'errors-to', 'apparently-to', 'received', 'return-path',
  'delivered-to', 'content-length', 'content-type', 'content-transfer-encoding',
  'notice-requested-upon-delivery-to', 'mail-followup-to',
] as const;

/** Field numbers (hfield.h). */
export const H = {
  SENDER: 1, FROM: 2, REPLYTO: 3, TO: 4, CC: 5, BCC: 6, DATE: 7, MESSAGEID: 8, SUBJECT: 9,
  R_SENDER: 10, R_FROM: 11, R_REPLYTO: 12, R_TO: 13, R_CC: 14, R_BCC: 15, R_DATE: 16, R_MESSAGEID: 17,
  RETURNRECEIPTTO: 18, ERRORSTO: 19, APPARENTLYTO: 20, RECEIVED: 21, RETURNPATH: 22, DELIVEREDTO: 23,
  CONTENTLENGTH: 24, CONTENTTYPE: 25, CONTENTTRANSFERENCODING: 26, NOTICEREQUESTEDUPONDELIVERYTO: 27,
  MAILFOLLOWUPTO: 28, NUM: 29,
} as const;

function hmatch(s: string, t: string): boolean {
  let i = 0;
  for (; i < t.length; i++) {
    if (i >= s.length) return false;
    const ch = t.charCodeAt(i);
    const c = s.charCodeAt(i);
    if (ch !== c) {
      if (ch === 45) return false;
      if (ch - 32 !== c) return false;
    }
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === ':') return true;
    if (c !== ' ' && c !== '\t') return false;
  }
  return false;
}

/** The field's number in HNAMES, or 0 when it is not a known field (hfield_known). */
export function hfieldKnown(s: string): number {
  for (let i = 1; i < HNAMES.length; i++) if (hmatch(s, HNAMES[i])) return i;
  return 0;
}

/** True when s starts like a header field `Name:` (hfield_valid). */
export function hfieldValid(s: string): boolean {
  let j = s.indexOf(':');
  if (j < 0) return false;
  while (j > 0 && (s[j - 1] === ' ' || s[j - 1] === '\t')) j--;
  if (j === 0) return false;
  for (let i = 0; i < j; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}
