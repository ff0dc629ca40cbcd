// Review: the photo library's progressive labelling, by keyboard. First the questions "is this NAME?" (y yes, n no,
// s skip, u undo the last answer or skip); when none is left, the unnamed clusters: "Who is this?" (type a name and
// Enter; Esc, or Tab out of the box then s, skips). Skips last until the page is left.

import { api, announce, face, fileName, h, inCollection, libraryFace, pageTitle, showError } from "./ui.js";

export async function render(container, context) {
  const collection = context.collection;
  const path = (rest) => inCollection(collection, `/library${rest}`);
  const state = { questions: [], unnamed: [], named: [], skipped: new Set(), history: [], answered: 0 };
  let shown = null;  // {kind: "question" | "naming", item}
  let busy = false;

  const progress = h("p", { id: "review-progress", class: "progress" });
  const heading = h("h2", { id: "review-question", "aria-live": "polite" });
  const body = h("div", { class: "review-body" });
  container.append(
    pageTitle("Review"),
    h("p", { class: "hint" }, "Questions: ", h("kbd", {}, "y"), " yes, ", h("kbd", {}, "n"), " no, ",
      h("kbd", {}, "s"), " skip, ", h("kbd", {}, "u"), " undo. Who is this: type the name and ", h("kbd", {}, "Enter"),
      "; ", h("kbd", {}, "Esc"), " skips; ", h("kbd", {}, "Tab"), " out of the box, then ", h("kbd", {}, "s"),
      " skips and ", h("kbd", {}, "u"), " undoes, a naming too."),
    progress, h("section", { class: "review", "aria-labelledby": "review-question" }, heading, body));

  const key = (item) => `${item.cluster}:${item.subject_id}`;
  const personFace = (name) => state.named.find((p) => p.name === name)?.sample_face;

  async function load() {
    try {
      [state.questions, state.unnamed, state.named] = await Promise.all([
        api("GET", path("/review")), api("GET", path("/people?named=false")), api("GET", path("/people?named=true"))]);
    } catch (error) {
      if (error.status !== 404 && error.status !== 422) throw error;
      shown = null;
      heading.textContent = "Nothing to review";
      body.replaceChildren(h("p", {}, `No photos are indexed in collection "${collection}" yet (`,
                                 h("code", {}, "faceatlas library index FOLDER"), ", or POST ",
                                 h("code", {}, "/v1/collections/{c}/library/index"), ")."));
      return;
    }
    display();
  }

  function display() {
    const questions = state.questions.filter((q) => !state.skipped.has(key(q)));
    const unnamed = state.unnamed.filter((u) => !state.skipped.has(`cluster ${u.cluster}`));
    const skipped = state.skipped.size ? ` · Skipped ${state.skipped.size}` : "";
    const left = new Set([...questions, ...unnamed].map((c) => c.cluster)).size;  // a question is about an unnamed one
    progress.textContent = `Answered ${state.answered} · People named ${state.named.length}${skipped} · ` +
                           `About ${left} left`;
    if (questions.length) question(questions[0]);
    else if (unnamed.length) naming(unnamed[0]);
    else finished();
  }

  function question(item) {
    shown = { kind: "question", item };
    heading.textContent = `Is this ${item.name}?`;
    const button = (label, shortcut, action) => h("button", { type: "button", "aria-keyshortcuts": shortcut, onclick: action },
                                                   label, " ", h("kbd", { "aria-hidden": "true" }, shortcut));
    const yes = button("Yes", "y", () => answer(item, "yes"));
    body.replaceChildren(
      h("div", { class: "pair" },
        h("figure", {}, face([libraryFace(collection, item.sample_face)], `A face of cluster ${item.cluster}`),
          h("figcaption", {}, `Cluster ${item.cluster}: ${plural(item.faces, "face")}`,
            item.sample_path ? ` (${fileName(item.sample_path)})` : "")),
        h("figure", {}, face([libraryFace(collection, personFace(item.name))], `${item.name}`, item.name),
          h("figcaption", {}, item.name))),
      h("p", {}, `Similarity ${item.score.toFixed(2)}.`),
      h("div", { class: "actions" }, yes, button("No", "n", () => answer(item, "no")),
        button("Skip", "s", () => skip(key(item))), undoButton()));
    yes.focus();
  }

  function naming(cluster) {
    shown = { kind: "naming", item: cluster };
    heading.textContent = "Who is this?";
    const input = h("input", { id: "review-name", type: "text", autocomplete: "off", list: "review-names",
                              "aria-describedby": "review-about" });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        skip(`cluster ${cluster.cluster}`);
      }
    });
    body.replaceChildren(
      h("div", { class: "pair" }, h("figure", {},
        face([libraryFace(collection, cluster.sample_face)], `An unnamed face of cluster ${cluster.cluster}`),
        h("figcaption", { id: "review-about" }, `Cluster ${cluster.cluster}: ${plural(cluster.faces, "face")} in `,
          plural(cluster.photos, "photo"), cluster.sample_path ? `, e.g. ${fileName(cluster.sample_path)}` : ""))),
      h("form", { class: "inline", onsubmit: (event) => { event.preventDefault(); name(cluster, input.value.trim()); } },
        h("label", { for: "review-name" }, "Name"), input,
        h("datalist", { id: "review-names" }, state.named.map((p) => h("option", { value: p.name }))),
        h("button", { type: "submit" }, "Name"),
        h("button", { type: "button", "aria-keyshortcuts": "s", onclick: () => skip(`cluster ${cluster.cluster}`) },
          "Skip"), undoButton()));
    input.focus();
  }

  function finished() {
    shown = null;
    heading.textContent = "Nothing left to review";
    body.replaceChildren(h("p", {}, "Every question is answered and every unnamed face named or skipped."),
      state.skipped.size ? h("button", { type: "button", onclick: () => { state.skipped.clear(); display(); } },
                             "Review the skipped ones") : "", undoButton());
  }

  function undoButton() {
    return h("button", { type: "button", "aria-keyshortcuts": "u", disabled: !state.history.length, onclick: undo },
             "Undo ", h("kbd", { "aria-hidden": "true" }, "u"));
  }

  // One change at a time: a key held down or pressed twice does not answer the next question unseen.
  async function act(work) {
    if (busy) return;
    busy = true;
    try {
      await work();
    } catch (error) {
      showError(error);
      if (error.status === 409) await load();
    } finally {
      busy = false;
    }
  }

  const answer = (item, reply) => act(async () => {
    const answered = await api("POST", path("/review/answers"),
                               { cluster: item.cluster, subject_id: item.subject_id, reply });
    state.history.push({ answer: answered });
    state.answered += 1;
    announce(answered.verdict === "named" ? `Yes: cluster ${item.cluster} is ${answered.name}`
                                          : `No: cluster ${item.cluster} is not ${item.name}`);
    await load();
  });

  function skip(what) {
    if (busy) return;
    state.skipped.add(what);
    state.history.push({ skipped: what });
    announce("Skipped");
    display();
  }

  const undo = () => act(async () => {
    const last = state.history.pop();
    if (!last) return announce("Nothing to undo");
    if (last.skipped) {
      state.skipped.delete(last.skipped);
      announce("Undone: skip");
      return display();
    }
    await api("POST", path("/review/undo"), last.answer);
    if (last.naming) {
      announce(`Undone: ${last.answer.name} taken off cluster ${last.answer.cluster}`);
      return load();
    }
    state.answered -= 1;
    announce(`Undone: ${last.answer.verdict === "named" ? "yes" : "no"} for cluster ${last.answer.cluster}`);
    await load();
  });

  const name = (cluster, who) => act(async () => {
    if (!who) return announce("Type a name, or press Esc to skip");
    const named = await api("POST", path(`/clusters/${cluster.cluster}/name`), { name: who });
    state.history.push({ answer: { cluster: named.cluster, verdict: "named", name: named.name,
                                   face_ids: named.face_ids }, naming: true });
    announce(`Named: cluster ${cluster.cluster} is ${named.name}`);
    await load();
  });

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || !shown && event.key !== "u") return;
    if (event.target.closest("input, select, textarea") || document.querySelector("dialog[open]")) return;
    const pressed = event.key.toLowerCase();
    const actions = {
      u: undo,
      s: () => skip(shown.kind === "question" ? key(shown.item) : `cluster ${shown.item.cluster}`),
      ...(shown?.kind === "question" ? { y: () => answer(shown.item, "yes"), n: () => answer(shown.item, "no") } : {}),
    };
    if (!actions[pressed]) return;
    event.preventDefault();
    actions[pressed]();
  }

  await load();
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

function plural(n, what) {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
