import { expect, it } from "vitest";
import { fnv1a } from "../src/checksum.js";

it("computes FNV-1a 32-bit like dpc_widgets.widgets.render.fnv1a", () => {
  const bytes = (s) => new TextEncoder().encode(s);
  expect(fnv1a(bytes(""))).toBe("811c9dc5");
  expect(fnv1a(bytes("a"))).toBe("e40c292c");
  expect(fnv1a(bytes("foobar"))).toBe("bf9cf968");
});
