// People: everyone enrolled in the collection as a grid of faces, and one person's page with their photos (gallery
// samples): rename, merge into someone else, move photos to another person, erase with the erasure's proof.

import {
  api, announce, confirmDialog, face, fileName, h, inCollection, libraryFace, pageTitle, sampleFace,
  sampleLibraryFace, showError,
} from "./ui.js";

const person = (collection, name, rest = "") => inCollection(collection, `/people/${encodeURIComponent(name)}${rest}`);

export async function render(container, context, name) {
  return name === null ? grid(container, context.collection) : page(container, context.collection, name);
}

async function grid(container, collection) {
  container.append(pageTitle("People"));
  let everyone;
  try {
    everyone = await api("GET", inCollection(collection, "/people"));
  } catch (error) {
    if (error.status !== 404) throw error;
    container.append(h("p", {}, `Collection "${collection}" has nobody yet: enrol people on the Admin page, or `,
                       "index photos and name them on the Review page."));
    return;
  }
  const library = await libraryPeople(collection);
  const records = await Promise.all(everyone.map((p) => api("GET", person(collection, p.name)).catch(() => null)));
  container.append(h("p", {}, everyone.length === 1 ? "1 person." : `${everyone.length} people.`));
  container.append(h("ul", { class: "grid", "aria-label": "People" }, everyone.map((summary, i) => {
    const first = records[i]?.samples[0];
    const sources = [first?.thumbnail ? sampleFace(collection, first.id) : null,
                     libraryFace(collection, library.get(summary.name)?.sample_face)];
    const photos = library.get(summary.name)?.photos;
    return h("li", {}, h("a", { class: "card", href: `#/people/${encodeURIComponent(summary.name)}` },
      face(sources, `Photo of ${summary.name}`, summary.name),
      h("span", { class: "name" }, summary.name),
      h("span", { class: "count" }, count(summary.samples, "sample"), photos ? ` · ${count(photos, "photo")}` : "")));
  })));
}

async function libraryPeople(collection) {
  try {
    const named = await api("GET", inCollection(collection, "/library/people?named=true"));
    return new Map(named.map((cluster) => [cluster.name, cluster]));
  } catch {
    return new Map();  // no photo library in this collection
  }
}

function count(n, what) {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

async function page(container, collection, name) {
  const record = await api("GET", person(collection, name));
  const others = (await api("GET", inCollection(collection, "/people"))).map((p) => p.name).filter((n) => n !== name);
  const names = h("datalist", { id: "other-people" }, others.map((n) => h("option", { value: n })));
  container.append(h("p", {}, h("a", { href: "#/people" }, "← All people")), pageTitle(name),
                   h("p", {}, `${count(record.samples.length, "photo")} (gallery samples), since ${record.created.slice(0, 10)}.`),
                   names);

  const samples = h("ul", { class: "grid samples", "aria-label": `Photos of ${name}` }, record.samples.map((sample, i) =>
    h("li", {}, h("figure", { class: "card" },
      face([sample.thumbnail ? sampleFace(collection, sample.id) : null,
            libraryFace(collection, sampleLibraryFace(sample.source))], `Photo ${i + 1} of ${name}`, name),
      h("figcaption", {}, h("label", {},
        h("input", { type: "checkbox", name: "sample", value: sample.id }),
        ` ${fileName(sample.source) || `sample ${sample.id}`}`),
        sample.quality === null ? "" : h("span", { class: "count" }, ` quality ${sample.quality.toFixed(2)}`))))));
  container.append(samples);

  const selected = () => [...samples.querySelectorAll("input[name=sample]:checked")].map((box) => Number(box.value));
  container.append(
    form("Rename", "New name", name, async (value) => {
      await api("PATCH", person(collection, name), { name: value });
      announce(`${name} is now ${value}`);
      location.hash = `#/people/${encodeURIComponent(value)}`;
    }),
    form("Merge", "Merge into (this person's photos all move there)", "", async (value) => {
      const moved = await api("POST", person(collection, name, "/merge"), { into: value });
      announce(`${moved.moved} photos of ${name} moved to ${moved.into}; ${name} is gone`);
      location.hash = `#/people/${encodeURIComponent(moved.into)}`;
    }),
    form("Move selected photos", "Move the photos ticked above to", "", async (value) => {
      const chosen = selected();
      if (!chosen.length) throw new Error("Tick the photos to move first.");
      const moved = await api("POST", person(collection, name, "/samples/move"), { samples: chosen, to: value });
      announce(`${moved.moved} photos moved to ${moved.into}`);
      const left = await api("GET", person(collection, name)).catch(() => null);
      location.hash = `#/people/${encodeURIComponent(left ? name : moved.into)}`;
      if (left) await refresh(container, collection, name);
    }),
    h("section", { class: "danger-zone", "aria-labelledby": "erase-title" },
      h("h2", { id: "erase-title" }, "Erase"),
      h("p", {}, `Erasing removes ${name}'s photos, face vectors and index entries from this collection; it cannot be undone.`),
      h("button", { type: "button", class: "danger", onclick: () => erase(container, collection, name) },
        `Erase ${name}…`)),
  );
}

async function refresh(container, collection, name) {
  container.replaceChildren();
  await page(container, collection, name);
}

// A labelled one-field form; `act(value)` does the change (its error is shown, the field keeps the focus).
function form(title, label, value, act) {
  const id = `field-${title.toLowerCase().replace(/\W+/g, "-")}`;
  const input = h("input", { id, type: "text", required: true, value, list: "other-people", autocomplete: "off" });
  return h("form", {
    class: "inline", "aria-label": title, onsubmit: async (event) => {
      event.preventDefault();
      try {
        await act(input.value.trim());
      } catch (error) {
        showError(error);
        input.focus();
      }
    },
  }, h("label", { for: id }, label), input, h("button", { type: "submit" }, title));
}

async function erase(container, collection, name) {
  const sure = await confirmDialog(`Erase ${name}?`, `Every photo, face vector and index entry of ${name} in ` +
                                   `collection "${collection}" is erased. This cannot be undone.`, `Erase ${name}`);
  if (!sure) return;
  try {
    const erased = await api("DELETE", person(collection, name));
    container.replaceChildren(
      h("p", {}, h("a", { href: "#/people" }, "← All people")),
      pageTitle(`${name} was erased`),
      h("p", {}, `${count(erased.samples, "sample")} and ${erased.index_entries} index entr${erased.index_entries === 1 ? "y" : "ies"} removed.`),
      h("h2", {}, "Proof of erasure"),
      h("pre", { class: "proof", tabindex: 0, "aria-label": "Proof of erasure" }, erased.proof),
      erased.exports_holding.length ? h("p", {}, `Exports made before still hold ${name}: `,
                                        erased.exports_holding.join(", ")) : "");
    container.querySelector(".page-title").focus();
    announce(`${name} erased`);
  } catch (error) {
    showError(error);
  }
}
