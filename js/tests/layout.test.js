import { describe, expect, it } from "vitest";
import { FLOOR_SIZE, GAP, MAX_COLUMNS, MAX_SIZE, MIN_SIZE, fitPanels } from "../src/layout.js";

describe("fitPanels", () => {
  it("fills the width with the most columns of at least MIN_SIZE", () => {
    // JupyterLab at 1280 x 800 with the file browser open: about 500 px beside the controls
    expect(fitPanels(500)).toEqual({ columns: 2, size: Math.floor((500 - GAP) / 2) });
    // 1920 x 1080: about 1160 px
    expect(fitPanels(1160)).toEqual({ columns: 3, size: Math.floor((1160 - 2 * GAP) / 3) });
    expect(fitPanels(2 * MIN_SIZE + GAP)).toEqual({ columns: 2, size: MIN_SIZE });
    expect(fitPanels(2 * MIN_SIZE + GAP - 1).columns).toBe(1);
  });

  it("keeps within its bounds", () => {
    expect(fitPanels(5000)).toEqual({ columns: MAX_COLUMNS, size: MAX_SIZE });
    expect(fitPanels(50)).toEqual({ columns: 1, size: FLOOR_SIZE });
    expect(fitPanels(0)).toEqual({ columns: 1, size: FLOOR_SIZE });
    expect(fitPanels(Number.NaN)).toEqual({ columns: 1, size: FLOOR_SIZE });
  });

  it("with a fixed size only the columns follow the width", () => {
    expect(fitPanels(1000, 220)).toEqual({ columns: 4, size: 220 });
    expect(fitPanels(100, 220)).toEqual({ columns: 1, size: 220 });
  });
});
