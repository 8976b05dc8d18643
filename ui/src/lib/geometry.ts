// Pixel geometry of the image screens: a rectangle dragged on a scaled image becomes a rectangle
// in the image's own pixels (what the engine burns in); the case list draws only the rows in view.
import type { Rect } from "./api";

/** A drag from (x0, y0) to (x1, y1) in display pixels, as image pixels, clamped to the image. */
export function dragToImageRect(
  x0: number, y0: number, x1: number, y1: number,
  displayWidth: number, imageWidth: number, imageHeight: number,
): Rect | null {
  const scale = imageWidth / displayWidth;
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const left = clamp(Math.min(x0, x1) * scale, imageWidth);
  const top = clamp(Math.min(y0, y1) * scale, imageHeight);
  const right = clamp(Math.max(x0, x1) * scale, imageWidth);
  const bottom = clamp(Math.max(y0, y1) * scale, imageHeight);
  const rect = { x: Math.floor(left), y: Math.floor(top), w: Math.ceil(right - Math.floor(left)), h: Math.ceil(bottom - Math.floor(top)) };
  // A click without a drag is not a redaction.
  return rect.w >= 2 && rect.h >= 2 ? rect : null;
}

/** Which rows of a list of fixed-height rows to draw, with a few spare above and below. */
export function visibleRows(scrollTop: number, viewHeight: number, rowHeight: number, count: number, spare = 5) {
  // Before the list is laid out its height is unknown (0 or undefined): assume a tall window.
  if (!Number.isFinite(viewHeight) || viewHeight <= 0) viewHeight = 1200;
  if (!Number.isFinite(scrollTop) || scrollTop < 0) scrollTop = 0;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - spare);
  const last = Math.min(count, Math.ceil((scrollTop + viewHeight) / rowHeight) + spare);
  return { first, last, padTop: first * rowHeight, padBottom: (count - last) * rowHeight };
}

/** Zoom by `factor` around the point (cx, cy) of the view, keeping that point still. */
export function zoomAt(view: { scale: number; x: number; y: number }, factor: number, cx: number, cy: number) {
  const scale = Math.min(8, Math.max(0.1, view.scale * factor));
  const k = scale / view.scale;
  return { scale, x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k };
}
