import { describe, expect, it } from "vitest";
import { guardShortcuts, markInExplorer } from "../src/keys.js";

const MARK = "data-lm-suppress-shortcuts";

describe("shortcut guard", () => {
  it("marks what gets focus inside an explorer, and nothing outside", () => {
    document.body.innerHTML = `
      <div class="dpc-explorer"><div class="slider"><div class="handle" tabindex="0"></div></div></div>
      <div class="other"><input class="outside"></div>`;
    guardShortcuts();
    guardShortcuts(); // once per page
    const handle = document.querySelector(".handle");
    const outside = document.querySelector(".outside");
    expect(handle.hasAttribute(MARK)).toBe(false);
    outside.focus();
    expect(outside.hasAttribute(MARK)).toBe(false);
    handle.focus();
    expect(handle.getAttribute(MARK)).toBe("true");
    expect(document.querySelector(".dpc-explorer").hasAttribute(MARK)).toBe(false);
    expect(markInExplorer(outside)).toBe(false);
    expect(markInExplorer(null)).toBe(false);
  });
});
