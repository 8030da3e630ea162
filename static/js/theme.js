// Light or dark: the page follows the system's preference (prefers-color-scheme, in office.css)
// until the person presses the theme toggle; their choice is kept in localStorage ("vo.theme") and
// set as <html data-theme>. Choosing what the system prefers anyway goes back to following it.
//
// A classic script loaded in <head>, before the stylesheet applies: the first paint already has the
// chosen theme (no flash of the other one). No inline script: the pages' CSP allows only 'self'.

(function theme() {
  const KEY = "vo.theme";
  const root = document.documentElement;
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      const value = localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (error) {
      return null; // storage blocked: follow the system
    }
  }

  function apply(choice) {
    if (choice) root.dataset.theme = choice;
    else delete root.dataset.theme;
  }

  const isDark = () => (root.dataset.theme ? root.dataset.theme === "dark" : systemDark.matches);

  function paint() {
    for (const button of document.querySelectorAll("[data-theme-toggle]")) {
      const dark = isDark();
      button.setAttribute("aria-pressed", String(dark));
      button.title = dark ? "Dark mode is on: switch to light" : "Switch to dark mode";
    }
  }

  function toggle() {
    const next = isDark() ? "light" : "dark";
    const followsSystem = next === (systemDark.matches ? "dark" : "light");
    try {
      if (followsSystem) localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch (error) {
      // not remembered; the page still switches
    }
    apply(followsSystem ? null : next);
    paint();
  }

  apply(stored());
  systemDark.addEventListener("change", paint);
  // Another tab chose: follow it.
  window.addEventListener("storage", (event) => {
    if (event.key === KEY) {
      apply(stored());
      paint();
    }
  });
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-theme-toggle]")) button.addEventListener("click", toggle);
    paint();
  });
})();
