/**
 * exitcodes: the exit statuses shared by DJB's programs and qmail's delivery
 * programs (qmail-command(8), qmail-queue(8)).
 */
export const EXIT_OK = 0;
/** qmail-command: success, and ignore further .qmail lines. */
export const EXIT_STOP = 99;
/** Usage error or permanent failure. */
export const EXIT_PERM = 100;
/** Temporary failure / system error: try again later. */
export const EXIT_TEMP = 111;
