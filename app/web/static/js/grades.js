// Why a shift is called (its grade = its strongest basis), shown the same way in the list, the
// legend and on the chart: a marker whose fill and outline differ by grade, and always a word.

import { el } from "./dom.js";

export const GRADES = ["stated", "statistical", "observed", "office_change"];

const TEXT = {
  stated: "stated",
  statistical: "statistical",
  observed: "observed",
  office_change: "office change",
};

const HELP = {
  stated: "a sentence reports the change",
  statistical: "a change-point test on a dense series",
  observed: "coded positions moved across the scale between few confident observations",
  office_change: "the level moved when the person holding office changed",
};

// How the chart and the glyphs draw a grade's triangle: stated solid, statistical outlined
// (white inside, thick edge), observed hollow with a dashed edge, office change hollow and dotted.
const MARKERS = {
  stated: { fill: "solid", dash: [], cap: "butt" },
  statistical: { fill: "white", dash: [], cap: "butt" },
  observed: { fill: "none", dash: [4, 3], cap: "butt" },
  office_change: { fill: "none", dash: [0.5, 4], cap: "round" },
};

export function gradeOf(shift) {
  return shift.grade || (shift.basis && shift.basis[0]) || "statistical";
}

export function gradeText(grade) {
  return TEXT[grade] || String(grade);
}

export function gradeHelp(grade) {
  return HELP[grade] || "";
}

export function marker(grade) {
  return MARKERS[grade] || MARKERS.statistical;
}

// The grade as a word in a pill; screen readers hear "grade: stated".
export function gradeBadge(grade) {
  return el(
    "span",
    { class: `badge grade grade-${grade}`, title: gradeHelp(grade) },
    el("span", { class: "visually-hidden" }, "grade: "),
    gradeText(grade),
  );
}

// "office change" next to the grade when the shift came with a change of office holder (and the
// grade does not say so already).
export function officeBadge(shift) {
  if (!shift.office_change || gradeOf(shift) === "office_change") return null;
  return el("span", { class: "badge office-change", title: HELP.office_change }, "office change");
}

const SVG = "http://www.w3.org/2000/svg";

// A small triangle drawn as the chart draws the grade's marker (decorative: the word is beside it).
export function gradeGlyph(grade, color = "#333", direction = "toward_oppose") {
  const style = marker(grade);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 14");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `grade-glyph grade-glyph-${grade}`);
  const shape = document.createElementNS(SVG, "polygon");
  shape.setAttribute("points", direction === "toward_support" ? "8,2 14.5,12 1.5,12" : "1.5,2 14.5,2 8,12");
  shape.setAttribute("fill", style.fill === "solid" ? color : style.fill === "white" ? "#fff" : "none");
  shape.setAttribute("stroke", color);
  shape.setAttribute("stroke-width", style.fill === "solid" ? "1" : "2");
  shape.setAttribute("stroke-linejoin", style.cap === "round" ? "round" : "miter");
  if (style.dash.length) shape.setAttribute("stroke-dasharray", style.dash.join(" "));
  shape.setAttribute("stroke-linecap", style.cap);
  svg.append(shape);
  return svg;
}
