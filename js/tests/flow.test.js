import { describe, expect, it } from "vitest";
import { RequestGate } from "../src/flow.js";

describe("RequestGate", () => {
  it("sends only the latest of a burst while a request is in flight (depth 1)", () => {
    const sent = [];
    const gate = new RequestGate((value, seq) => sent.push([value, seq]), { depth: 1 });
    for (let r = 1; r <= 50; r++) gate.request({ r });
    expect(sent).toEqual([[{ r: 1 }, 1]]);
    expect(gate.busy).toBe(true);
    gate.answer(1);
    expect(sent).toEqual([[{ r: 1 }, 1], [{ r: 50 }, 2]]);
    gate.answer(2);
    expect(gate.busy).toBe(false);
    expect(sent.length).toBe(2); // nothing left to send
  });

  it("keeps two requests in flight by default and ends on the last value", () => {
    const sent = [];
    const gate = new RequestGate((value, seq) => sent.push([value, seq]));
    for (let r = 1; r <= 30; r++) gate.request(r);
    expect(sent).toEqual([[1, 1], [2, 2]]); // the next one travels while the kernel computes
    gate.answer(1);
    expect(sent.at(-1)).toEqual([30, 3]); // stale values 3..29 were never sent
    gate.request(31);
    gate.request(32);
    expect(sent.length).toBe(3); // both slots taken (2 and 3)
    gate.answer(3); // answers come in order: 3 answers 2 as well
    expect(sent.at(-1)).toEqual([32, 4]);
    gate.answer(4);
    expect(gate.busy).toBe(false);
    expect(sent.map(([value]) => value)).toEqual([1, 2, 30, 32]);
  });

  it("ignores answers to older requests", () => {
    const sent = [];
    const gate = new RequestGate((value, seq) => sent.push(seq), { depth: 1 });
    gate.request("a");
    gate.answer(0);
    gate.request("b");
    expect(sent).toEqual([1]);
  });

  it("stops waiting for an answer after staleMs", () => {
    let now = 0;
    const sent = [];
    const gate = new RequestGate((value) => sent.push(value), {
      now: () => now, staleMs: 100, depth: 1,
    });
    gate.request("a");
    gate.request("b");
    now = 150;
    gate.request("c");
    expect(sent).toEqual(["a", "c"]);
  });
});
