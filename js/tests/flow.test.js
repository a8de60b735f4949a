import { describe, expect, it } from "vitest";
import { RequestGate } from "../src/flow.js";

describe("RequestGate", () => {
  it("sends only the latest of a burst while a request is in flight", () => {
    const sent = [];
    const gate = new RequestGate((value, seq) => sent.push([value, seq]));
    for (let r = 1; r <= 50; r++) gate.request({ r });
    expect(sent).toEqual([[{ r: 1 }, 1]]);
    expect(gate.busy).toBe(true);
    gate.answer(1);
    expect(sent).toEqual([[{ r: 1 }, 1], [{ r: 50 }, 2]]);
    gate.answer(2);
    expect(gate.busy).toBe(false);
    expect(sent.length).toBe(2); // nothing left to send
  });

  it("ignores answers to older requests", () => {
    const sent = [];
    const gate = new RequestGate((value, seq) => sent.push(seq));
    gate.request("a");
    gate.answer(0);
    gate.request("b");
    expect(sent).toEqual([1]);
  });

  it("stops waiting for an answer after staleMs", () => {
    let now = 0;
    const sent = [];
    const gate = new RequestGate((value) => sent.push(value), { now: () => now, staleMs: 100 });
    gate.request("a");
    gate.request("b");
    now = 150;
    gate.request("c");
    expect(sent).toEqual(["a", "c"]);
  });
});
