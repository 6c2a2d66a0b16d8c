/**
 * send/prioq: qmail-send's priority queues (prioq.c): message ids keyed by a
 * time in seconds, smallest first; a binary heap.
 */

/** One entry: message id and its due time (seconds since the epoch). */
export interface PqElt {
  id: number;
  dt: number;
}

/** A min-heap of PqElt ordered by dt. */
export class Prioq {
  private h: PqElt[] = [];

  get length(): number {
    return this.h.length;
  }

  /** Add an entry. */
  insert(e: PqElt): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].dt <= e.dt) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  /** The entry with the smallest dt, or undefined when empty. */
  min(): PqElt | undefined {
    return this.h[0];
  }

  /** Remove and return the smallest entry. */
  delmin(): PqElt | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1].dt < h[l].dt ? l + 1 : l;
        if (h[c].dt >= last.dt) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Every entry (heap order), e.g. to reschedule all (pqrun) or save them (pqfinish). */
  all(): readonly PqElt[] {
    return this.h;
  }
}
