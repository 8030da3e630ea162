// Colours people see text on: a person's avatar colour (any hex they or the palette chose) is
// darkened just enough for its white initials to meet WCAG AA contrast (4.5:1). No DOM here.

function channels(hex) {
  let value = String(hex).replace(/^#/, "");
  if (value.length === 3 || value.length === 4) value = [...value].map((c) => c + c).join("");
  return [0, 2, 4].map((i) => parseInt(value.slice(i, i + 2), 16));
}

function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours given as [r, g, b]. */
export function contrast(a, b) {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

const hex = (rgb) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;

/** `colour`, darkened in small steps until white text on it reaches `ratio` (unchanged if it does). */
export function readableUnderWhite(colour, ratio = 4.5) {
  const start = channels(colour);
  if (start.some(Number.isNaN)) return colour;
  const white = [255, 255, 255];
  for (let keep = 1; keep > 0; keep -= 0.04) {
    const rgb = start.map((c) => c * keep);
    if (contrast(rgb, white) >= ratio) return hex(rgb);
  }
  return "#000000";
}
