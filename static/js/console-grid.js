// Floor editor geometry, without the DOM: snapping to the grid, moving and resizing a space's
// rectangle within the floor's bounds. Unit-tested under node (tests/js/console-grid.test.mjs).

export const GRID = 10;
export const MIN_W = 120;
export const MIN_H = 80;

export function snap(value, grid = GRID) {
  return Math.round(value / grid) * grid;
}

// A rectangle {x, y, w, h} moved by (dx, dy) pixels, on the grid, never off the floor's top or left.
export function moved(rect, dx, dy, grid = GRID) {
  return { ...rect, x: Math.max(0, snap(rect.x + dx, grid)), y: Math.max(0, snap(rect.y + dy, grid)) };
}

// A rectangle resized by (dw, dh) from its bottom-right corner, on the grid, never below the minimum.
export function resized(rect, dw, dh, grid = GRID) {
  return { ...rect, w: Math.max(MIN_W, snap(rect.w + dw, grid)), h: Math.max(MIN_H, snap(rect.h + dh, grid)) };
}

// What an arrow key does to a focused space: move by one grid step, or with Shift resize.
const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function keyed(rect, key, shift, grid = GRID) {
  const step = STEPS[key];
  if (!step) return null;
  const [sx, sy] = step;
  return shift ? resized(rect, sx * grid, sy * grid, grid) : moved(rect, sx * grid, sy * grid, grid);
}

// Only the fields that changed (the PATCH body), or null when nothing did.
export function changes(before, after) {
  const body = {};
  for (const key of ["x", "y", "w", "h"]) if (before[key] !== after[key]) body[key] = after[key];
  return Object.keys(body).length ? body : null;
}

// How big the editor's surface must be to hold every space, plus room to drag further.
export function extent(rects, margin = 200) {
  let width = 0;
  let height = 0;
  for (const r of rects) {
    width = Math.max(width, r.x + r.w);
    height = Math.max(height, r.y + r.h);
  }
  return { width: width + margin, height: height + margin };
}
