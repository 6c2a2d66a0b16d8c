/**
 * Vitest global setup: as root, qmail's users and groups (alias, qmaild,
 * qmaill, qmailp, qmailq, qmailr, qmails; qmail, nofiles) are made to exist
 * before any test file starts, as `qmailctl setup` makes them
 * (deploy/accounts.ts; idempotent, nothing is ever deleted). Test files run
 * in parallel, and some (qmailctl, qmail-queued, qmail-send, lspawn) behave
 * differently on a machine with those users; test/system-install.test.ts
 * needs them. Creating them once, first, means every file sees the same
 * machine instead of one that changes under it. Not root: nothing to do
 * (the tests that need the users skip).
 */
import { ensureAccounts } from '../src/lib/deploy/accounts.ts';

export default async function setup(): Promise<void> {
  if (process.getuid?.() === 0) await ensureAccounts('/var/qmail');
}
