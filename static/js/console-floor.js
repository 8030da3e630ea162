// The floor editor: every space at its floor position; drag to move, drag the corner to resize
// (10 px grid), arrow keys for the keyboard. Each change is saved at once with PATCH
// /api/v1/spaces/{id}/ (the spaces API, so the change goes out as space.updated to everyone on
// the floor); a refused change puts the space back and says why.

import { patch } from "./api.js";
import { changes, extent, keyed, moved, resized } from "./console-grid.js";

const root = document.getElementById("floor-editor");
const status = document.getElementById("floor-editor-status");
const data = JSON.parse(document.getElementById("console-floor-data").textContent);
const spaces = new Map(data.map((space) => [space.id, space]));

function say(text, level = "info") {
  status.textContent = text;
  status.dataset.level = level;
}

function place(element, rect) {
  element.style.left = `${rect.x}px`;
  element.style.top = `${rect.y}px`;
  element.style.width = `${rect.w}px`;
  element.style.height = `${rect.h}px`;
  element.querySelector(".floor-editor-size").textContent = `${rect.w} × ${rect.h} at ${rect.x}, ${rect.y}`;
  Object.assign(element.dataset, { x: rect.x, y: rect.y, w: rect.w, h: rect.h });
}

function grow() {
  const { width, height } = extent([...spaces.values()]);
  root.style.width = `${width}px`;
  root.style.height = `${height}px`;
}

async function save(space, element, before, after) {
  const body = changes(before, after);
  if (!body) return;
  element.classList.add("is-saving");
  try {
    const saved = await patch(`spaces/${space.id}/`, body);
    Object.assign(space, { x: saved.x, y: saved.y, w: saved.w, h: saved.h });
    place(element, space);
    say(`${space.name} saved.`);
  } catch (error) {
    Object.assign(space, before);
    place(element, space);
    say(`${space.name} was not saved: ${error.message}`, "error");
  } finally {
    element.classList.remove("is-saving");
    grow();
  }
}

function draw(space) {
  const element = document.createElement("div");
  element.className = "floor-editor-space";
  element.classList.toggle("is-closed", space.status === "closed");
  element.tabIndex = 0;
  element.setAttribute("role", "button");
  element.dataset.space = space.id;
  element.setAttribute("aria-label", `${space.name}: drag or use the arrow keys to move, Shift + arrows to resize`);
  const name = document.createElement("span");
  name.className = "floor-editor-name";
  name.textContent = space.name;
  const size = document.createElement("span");
  size.className = "floor-editor-size";
  const handle = document.createElement("span");
  handle.className = "floor-editor-handle";
  handle.dataset.role = "resize";
  handle.setAttribute("aria-hidden", "true");
  element.append(name, size, handle);
  place(element, space);

  element.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const resizing = event.target === handle;
    const start = { px: event.clientX, py: event.clientY };
    const before = { x: space.x, y: space.y, w: space.w, h: space.h };
    let now = before;
    element.setPointerCapture(event.pointerId);
    element.classList.add("is-dragging");
    const onMove = (move) => {
      const dx = move.clientX - start.px;
      const dy = move.clientY - start.py;
      now = resizing ? resized(before, dx, dy) : moved(before, dx, dy);
      place(element, now);
    };
    const onUp = () => {
      element.removeEventListener("pointermove", onMove);
      element.removeEventListener("pointerup", onUp);
      element.removeEventListener("pointercancel", onUp);
      element.classList.remove("is-dragging");
      Object.assign(space, now);
      save(space, element, before, now);
    };
    element.addEventListener("pointermove", onMove);
    element.addEventListener("pointerup", onUp);
    element.addEventListener("pointercancel", onUp);
  });

  element.addEventListener("keydown", (event) => {
    const before = { x: space.x, y: space.y, w: space.w, h: space.h };
    const after = keyed(before, event.key, event.shiftKey);
    if (!after) return;
    event.preventDefault();
    Object.assign(space, after);
    place(element, space);
    save(space, element, before, after);
  });
  return element;
}

root.replaceChildren(...[...spaces.values()].map(draw));
grow();
if (!spaces.size) say("No spaces yet: add one below, then place it here.");
