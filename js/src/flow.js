// Request/answer flow control for kernel requests (latest value wins).
//
// At most `depth` requests are in flight (sent, not yet answered); while that many are, only
// the newest wanted value is kept, and it is sent as soon as an answer frees a slot. So however
// fast the pointer moves, the kernel never works through stale values, yet with two in flight
// (the default) the next request is already on its way while the kernel computes the previous
// one: a drag shows a new frame per kernel update, not per network round trip. A request may
// ask for a smaller depth (1 for an expensive one: it waits until nothing is in flight). A
// request unanswered after `staleMs` (kernel restarted, message lost) no longer takes a slot.

export class RequestGate {
  /**
   * @param {(value: object, seq: number) => void} send  sends one request to the kernel
   * @param {{now?: () => number, staleMs?: number, depth?: number}} options
   */
  constructor(send, { now = () => Date.now(), staleMs = 10000, depth = 2 } = {}) {
    this.send = send;
    this.now = now;
    this.staleMs = staleMs;
    this.depth = depth;
    this.seq = 0;
    this.inFlight = []; // [{seq, sentAt}] of unanswered requests, oldest first
    this.wanted = null; // newest value not yet sent
    this.wantedDepth = depth; // the depth it asked for
  }

  /** The unanswered requests that still take a slot (not stale). */
  pending() {
    const t = this.now();
    this.inFlight = this.inFlight.filter((request) => t - request.sentAt < this.staleMs);
    return this.inFlight.length;
  }

  /** True while a request waits for its answer. */
  get busy() {
    return this.pending() > 0;
  }

  /**
   * Ask for value: sent now when fewer than `depth` requests are in flight, else kept
   * (replacing older wanted values).
   */
  request(value, depth = this.depth) {
    this.wanted = value;
    this.wantedDepth = Math.min(depth, this.depth);
    if (this.pending() < this.wantedDepth) this.flush();
  }

  /** The kernel answered request seq (and so every earlier one): send the newest wanted value. */
  answer(seq) {
    this.inFlight = this.inFlight.filter((request) => request.seq > seq);
    if (this.wanted !== null && this.pending() < this.wantedDepth) this.flush();
  }

  flush() {
    const value = this.wanted;
    this.wanted = null;
    this.seq += 1;
    this.inFlight.push({ seq: this.seq, sentAt: this.now() });
    this.send(value, this.seq);
  }
}
