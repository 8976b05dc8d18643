import { describe, expect, it } from "vitest";
import { dragToImageRect, visibleRows, zoomAt } from "./geometry";

describe("redaction rectangles", () => {
  it("scale a drag on a reduced image to the image's pixels, whichever way it was drawn", () => {
    // A 4000 px wide photo shown 800 px wide: scale 5.
    expect(dragToImageRect(100, 50, 20, 10, 800, 4000, 3000)).toEqual({ x: 100, y: 50, w: 400, h: 200 });
  });

  it("clamp to the image and ignore clicks", () => {
    expect(dragToImageRect(-30, -30, 900, 700, 800, 4000, 3000)).toEqual({ x: 0, y: 0, w: 4000, h: 3000 });
    expect(dragToImageRect(10, 10, 10, 10, 800, 4000, 3000)).toBeNull();
  });
});

describe("virtual list", () => {
  it("draws only the rows in view, with spares, and pads the rest", () => {
    const v = visibleRows(4400, 600, 44, 5000);
    expect(v.first).toBe(95);
    expect(v.last).toBe(119);
    expect(v.padTop + (v.last - v.first) * 44 + v.padBottom).toBe(5000 * 44);
  });

  it("handles the top, the end and short lists", () => {
    expect(visibleRows(0, 600, 44, 3)).toEqual({ first: 0, last: 3, padTop: 0, padBottom: 0 });
    expect(visibleRows(1e9, 600, 44, 10).last).toBe(10);
  });

  it("draws rows before the list's height is known", () => {
    expect(visibleRows(0, undefined as unknown as number, 64, 3).last).toBe(3);
    expect(visibleRows(NaN, 0, 64, 100).last).toBeGreaterThan(10);
  });
});

describe("zoom", () => {
  it("keeps the point under the cursor still and bounds the scale", () => {
    const v = zoomAt({ scale: 1, x: 0, y: 0 }, 2, 100, 50);
    expect(v).toEqual({ scale: 2, x: -100, y: -50 });
    expect(zoomAt({ scale: 8, x: 0, y: 0 }, 2, 0, 0).scale).toBe(8);
  });
});
