// The export pages: the button asks the API for an export, then the page polls it every second,
// moving the progress bar until the zip is built and its download link shows (without JavaScript
// the button posts the form and a reload shows the progress).

import { api } from "./api.js";

const POLL_MS = 1000;

export function describeExport(exp) {
  const labels = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };
  const label = labels[exp.status] || exp.status;
  if (exp.status === "failed") return "Failed: try again.";
  return `${label} · ${exp.progress}%`;
}

export function isFinished(exp) {
  return exp.status === "done" || exp.status === "failed";
}

function setUp() {
  const form = document.getElementById("export-form");
  const box = document.getElementById("export-status");
  if (!form || !box) return;
  const bar = document.getElementById("export-progress");
  const state = document.getElementById("export-state");
  const link = document.getElementById("export-download");
  const button = document.getElementById("export-start");
  let timer = null;

  function show(exp) {
    box.hidden = false;
    box.dataset.export = String(exp.id);
    box.dataset.status = exp.status;
    bar.value = exp.progress;
    bar.textContent = `${exp.progress}%`;
    state.textContent = describeExport(exp);
    if (exp.status === "done" && exp.download) {
      link.href = exp.download;
      link.hidden = false;
    } else {
      link.hidden = true;
      link.removeAttribute("href");
    }
    button.disabled = !isFinished(exp);
  }

  async function poll(id) {
    clearTimeout(timer);
    try {
      const exp = await api("GET", `exports/${id}/`);
      show(exp);
      if (isFinished(exp)) return;
    } catch (error) {
      state.textContent = error.message;
    }
    timer = setTimeout(() => poll(id), POLL_MS);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const exp = await api("POST", "exports/", { scope: form.dataset.scope });
      show(exp);
      poll(exp.id);
    } catch (error) {
      box.hidden = false;
      state.textContent = error.message;
      button.disabled = false;
    }
  });

  if (box.dataset.export && !isFinished({ status: box.dataset.status })) {
    button.disabled = true;
    poll(box.dataset.export);
  }
}

if (typeof document !== "undefined") setUp();
