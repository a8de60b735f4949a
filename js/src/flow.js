// Request/answer flow control for kernel requests (latest value wins).
//
// While a request is in flight only the newest wanted value is kept; when the kernel answers,
// that newest value (if any) is sent. So however fast the pointer moves, the kernel holds at
// most one request and never works through stale ones. A request unanswered after
// `staleMs` (kernel restarted, message lost) no longer blocks new ones.

export class RequestGate {
  /**
   * @param {(value: object, seq: number) => void} send  sends one request to the kernel
   * @param {{now?: () => number, staleMs?: number}} options
   */
  constructor(send, { now = () => Date.now(), staleMs = 10000 } = {}) {
    this.send = send;
    this.now = now;
    this.staleMs = staleMs;
    this.seq = 0;
    this.inFlight = null; // seq of the unanswered request
    this.sentAt = 0;
    this.wanted = null; // newest value not yet sent
  }

  /** True while a request waits for its answer. */
  get busy() {
    return this.inFlight !== null && this.now() - this.sentAt < this.staleMs;
  }

  /** Ask for value: sent now when idle, else kept (replacing older wanted values). */
  request(value) {
    this.wanted = value;
    if (!this.busy) this.flush();
  }

  /** The kernel answered request seq: send the newest wanted value, if any. */
  answer(seq) {
    if (this.inFlight === null || seq < this.inFlight) return;
    this.inFlight = null;
    if (this.wanted !== null) this.flush();
  }

  flush() {
    const value = this.wanted;
    this.wanted = null;
    this.seq += 1;
    this.inFlight = this.seq;
    this.sentAt = this.now();
    this.send(value, this.seq);
  }
}
