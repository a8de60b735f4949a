import { describe, expect, it } from "vitest";
import { PALETTE } from "../src/colormaps.js";
import { TILE_FRAME, TILE_GAP, labelInk, labelSpots, segmentColor, tileLayout } from "../src/tiles.js";

describe("tile layout", () => {
  it("fills the panel without empty cells where it can", () => {
    // 16 tiles in a panel of 220: 4 x 4, each (220 - 3 * 4) / 4 = 52 px with its frames
    expect(tileLayout(16, 220)).toMatchObject({ columns: 4, rows: 4, tile: 52 - 2 * TILE_FRAME, empty: 0 });
    expect(tileLayout(4, 220)).toMatchObject({ columns: 2, rows: 2, empty: 0 });
    expect(tileLayout(6, 220)).toMatchObject({ columns: 3, rows: 2, empty: 0 }); // shorter than 2 x 3
    expect(tileLayout(1, 220)).toMatchObject({ columns: 1, rows: 1, tile: 220 - 2 * TILE_FRAME });
  });

  it("takes empty cells only for much larger tiles (8 segments: 3 x 3 at 66 px, not 4 x 2 at 48)", () => {
    const layout = tileLayout(8, 220);
    expect(layout).toMatchObject({ columns: 3, rows: 3, empty: 1 });
    expect(layout.tile).toBe(Math.floor((220 - 2 * TILE_GAP) / 3) - 2 * TILE_FRAME);
  });

  it("never exceeds the panel: size x size", () => {
    for (const size of [120, 220, 333]) {
      for (let n = 1; n <= 16; n++) {
        const { columns, rows, tile } = tileLayout(n, size);
        const box = tile + 2 * TILE_FRAME;
        expect(columns * box + (columns - 1) * TILE_GAP).toBeLessThanOrEqual(size);
        expect(rows * box + (rows - 1) * TILE_GAP).toBeLessThanOrEqual(size);
        expect(columns * rows).toBeGreaterThanOrEqual(n);
      }
    }
  });
});

describe("segment labels", () => {
  it("colours frames and badges like the overlay's PALETTE", () => {
    expect(segmentColor(17)).toBe(`rgb(${PALETTE[1].join(", ")})`);
    expect(labelInk(2)).toBe("#000"); // yellow: black ink
    expect(labelInk(14)).toBe("#fff"); // maroon: white ink
  });

  it("puts label k at segment k's mid angle (down = +x, right = +y)", () => {
    // 4 segments, no rotation: segment 0 spans theta 0..90 deg, mid 45 deg: down and right
    const [[right, down]] = labelSpots(4, 0, 10);
    expect(right).toBeCloseTo(10 * Math.SQRT1_2);
    expect(down).toBeCloseTo(10 * Math.SQRT1_2);
    // rotation by +45 deg moves segment 0's middle to phi = 0: straight down
    const [[r2, d2]] = labelSpots(4, Math.PI / 4, 10);
    expect(r2).toBeCloseTo(0);
    expect(d2).toBeCloseTo(10);
  });
});

describe("label radius", () => {
  it("labels the annulus's middle, else just outside it, else not at all", async () => {
    const { labelRadius, LABEL_ARC } = await import("../src/tiles.js");
    expect(labelRadius(4, 20, 60)).toBe(40);
    // 16 sectors on a middle of 30 px: 11.8 px each, too tight; outside at 49 px: 19 px each
    expect(labelRadius(16, 20, 40)).toBe(49);
    expect((2 * Math.PI * 49) / 16).toBeGreaterThanOrEqual(LABEL_ARC);
    expect(labelRadius(16, 1, 3)).toBeNull(); // a 2 px disc: zoom in to see the labels
    expect(labelRadius(4, 5, 5)).toBeNull();
  });
});
