// Search by photo: drop or pick an image; every face found is boxed on it with its decision (a name, or unknown)
// at the rate chosen, and listed with its best candidates and their scores. The photo is analysed on the server,
// in memory, and not kept.

import { api, announce, h, inCollection, pageTitle, showError } from "./ui.js";

const RATES = [
  ["fpir=0.01", "FPIR 1e-2: a stranger taken for someone 1 time in 100 (default)"],
  ["fmr=0.001", "FMR 1e-3 per comparison"],
  ["fmr=0.0001", "FMR 1e-4 per comparison"],
  ["fmr=0.00001", "FMR 1e-5 per comparison (strictest)"],
];

export async function render(container, context) {
  let photo = null;
  let shownUrl = null;
  const rate = h("select", { id: "search-rate" }, RATES.map(([value, label]) => h("option", { value }, label)));
  const input = h("input", { id: "search-photo", type: "file", accept: "image/*" });
  const drop = h("div", { class: "drop", id: "search-drop" },
    h("label", { for: "search-photo" }, "Drop a photo here, or choose one: "), input);
  const results = h("section", { class: "results", "aria-label": "Results", "aria-live": "polite" });
  container.append(pageTitle("Search by photo"),
    h("p", {}, `Who is in a photo, among the people of collection "${context.collection}".`),
    h("div", { class: "inline" }, h("label", { for: "search-rate" }, "Decide at"), rate), drop, results);

  async function search() {
    if (!photo) return;
    const form = new FormData();
    form.append("image", photo, photo.name);
    results.replaceChildren(h("p", {}, "Searching…"));
    try {
      const faces = await api("POST", inCollection(context.collection, `/identify?${rate.value}&top_k=3`), form);
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      shownUrl = URL.createObjectURL(photo);
      await show(results, shownUrl, photo.name, faces);
      announce(faces.length ? `${faces.length} face${faces.length === 1 ? "" : "s"}: ` +
                              faces.map((f) => f.decision || "unknown").join(", ") : "No face found in the photo");
    } catch (error) {
      results.replaceChildren();
      showError(error);
    }
  }

  input.addEventListener("change", () => { photo = input.files[0] || null; search(); });
  rate.addEventListener("change", search);
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    photo = event.dataTransfer.files[0] || null;
    search();
  });
  return () => { if (shownUrl) URL.revokeObjectURL(shownUrl); };
}

async function show(results, url, name, faces) {
  const image = h("img", { src: url, alt: `The photo searched, ${name}, with ${faces.length} face(s) boxed` });
  await image.decode().catch(() => {});
  const [width, height] = [image.naturalWidth || 1, image.naturalHeight || 1];
  const percent = (value, whole) => `${(100 * value / whole).toFixed(2)}%`;
  const boxes = faces.map((found, i) => {
    const [x1, y1, x2, y2] = found.box;
    const box = h("div", { class: `box ${found.decision ? "known" : "unknown"}`, "aria-hidden": "true" },
                  h("span", {}, `${i + 1}. ${found.decision || "unknown"}`));
    Object.assign(box.style, { left: percent(x1, width), top: percent(y1, height), width: percent(x2 - x1, width),
                               height: percent(y2 - y1, height) });  // CSSOM: the page's policy allows no inline style
    return box;
  });
  results.replaceChildren(
    h("figure", { class: "searched" }, h("div", { class: "frame" }, image, boxes)),
    faces.length ? h("ol", { class: "faces" }, faces.map((found) => h("li", {},
      h("strong", {}, found.decision || "unknown"),
      found.insufficient_quality ? " (the face is too poor to decide)" : "",
      ` — threshold ${found.threshold.toFixed(3)} at FMR ${found.fmr.toExponential(0)}`,
      found.candidates.length ? h("ul", {}, found.candidates.map((c) => h("li", {}, `${c.name}: ${c.score.toFixed(3)}`)))
                              : h("p", {}, "Nobody in the collection to compare with.")))) : h("p", {}, "No face found."));
}
