// Admin (keys holding the admin scope): the collections, enrolling people by upload, API keys (list, create
// with the token shown once, revoke), and the evaluation report.

import { api, announce, confirmDialog, h, inCollection, pageTitle, showError } from "./ui.js";

const SCOPES = ["analyze", "identify", "enrol", "erase", "admin"];

export async function render(container, context) {
  container.append(pageTitle("Admin"));
  container.append(await collections(context), enrol(context), await keys(context), reports());
}

function reports() {
  return h("section", { "aria-labelledby": "reports-title" },
    h("h2", { id: "reports-title" }, "Evaluation"),
    h("p", {}, h("a", { href: "/v1/reports", target: "_blank", rel: "noopener" }, "The evaluation report"),
      " of the results in the server's FACEATLAS_EVAL_RESULTS folder (opens in a new tab)."));
}

async function collections(context) {
  const names = await api("GET", "/v1/collections");
  const field = h("input", { id: "new-collection", type: "text", required: true, autocomplete: "off" });
  return h("section", { "aria-labelledby": "collections-title" },
    h("h2", { id: "collections-title" }, "Collections"),
    names.length ? h("ul", { class: "plain" }, names.map((name) => h("li", {}, name, " ",
      h("button", { type: "button", onclick: () => context.setCollection(name), disabled: name === context.collection },
        name === context.collection ? "In use" : `Use ${name}`))))
                 : h("p", {}, "No collection yet."),
    h("form", { class: "inline", onsubmit: (event) => { event.preventDefault(); context.setCollection(field.value.trim()); } },
      h("label", { for: "new-collection" }, "Open another collection (made by its first enrolment)"), field,
      h("button", { type: "submit" }, "Open")));
}

function enrol(context) {
  const name = h("input", { id: "enrol-name", type: "text", required: true, autocomplete: "off" });
  const photos = h("input", { id: "enrol-photos", type: "file", accept: "image/*", multiple: true, required: true });
  const report = h("div", { class: "report", "aria-live": "polite" });
  return h("section", { "aria-labelledby": "enrol-title" },
    h("h2", { id: "enrol-title" }, `Enrol into "${context.collection}"`),
    h("form", {
      class: "stacked", onsubmit: async (event) => {
        event.preventDefault();
        const form = new FormData();
        for (const file of photos.files) form.append("images", file, file.name);
        const who = name.value.trim();
        try {
          const done = await api("POST", inCollection(context.collection, `/people/${encodeURIComponent(who)}/faces`),
                                 form);
          report.replaceChildren(h("p", {}, `${who}: ${done.added.length} photo(s) added.`),
            done.rejected.length ? h("ul", {}, done.rejected.map((r) => h("li", {}, `${r.source}: ${r.reason}`))) : "");
          announce(`${who}: ${done.added.length} added, ${done.rejected.length} refused`);
          await context.refreshCollections();
        } catch (error) {
          showError(error);
        }
      },
    }, h("label", { for: "enrol-name" }, "Person's name"), name, h("label", { for: "enrol-photos" }, "Photos"), photos,
    h("button", { type: "submit" }, "Enrol")), report);
}

async function keys(context) {
  const section = h("section", { "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title" }, "API keys"));
  const table = h("table", {});
  const made = h("div", { class: "report", "aria-live": "polite" });

  async function list() {
    const all = await api("GET", "/v1/keys");
    table.replaceChildren(h("caption", {}, `${all.length} key(s)`),
      h("thead", {}, h("tr", {}, ["Name", "Id", "Scopes", "Collections", "Made", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, all.map((key) => h("tr", {}, h("td", {}, key.name), h("td", {}, h("code", {}, key.id)),
        h("td", {}, key.scopes.join(", ")), h("td", {}, key.collections.join(", ")), h("td", {}, key.created.slice(0, 10)),
        h("td", {}, key.id === context.who.key_id ? "this session" : h("button", {
          type: "button", class: "danger", "aria-label": `Revoke key ${key.name} (${key.id})`,
          onclick: () => revoke(key),
        }, "Revoke"))))));
  }

  async function revoke(key) {
    if (!await confirmDialog(`Revoke ${key.name}?`, `Key ${key.id} is refused from now on; its web sessions end.`,
                             "Revoke")) return;
    try {
      await api("DELETE", `/v1/keys/${encodeURIComponent(key.id)}`);
      announce(`Key ${key.name} revoked`);
      await list();
    } catch (error) {
      showError(error);
    }
  }

  const name = h("input", { id: "key-name", type: "text", required: true, autocomplete: "off" });
  const where = h("input", { id: "key-collections", type: "text", required: true, value: context.collection,
                            "aria-describedby": "key-collections-hint" });
  const scopes = SCOPES.map((scope) => h("label", {}, h("input", { type: "checkbox", name: "scope", value: scope,
                                                                   checked: scope === "identify" }), ` ${scope}`));
  const create = h("form", {
    class: "stacked", onsubmit: async (event) => {
      event.preventDefault();
      const chosen = [...create.querySelectorAll("input[name=scope]:checked")].map((box) => box.value);
      try {
        const answer = await api("POST", "/v1/keys", {
          name: name.value.trim(), scopes: chosen,
          collections: where.value.split(",").map((c) => c.trim()).filter(Boolean),
        });
        const token = h("input", { id: "new-token", type: "text", readonly: true, value: answer.token, size: 60 });
        made.replaceChildren(h("p", {}, `Key ${answer.key.name} made. Copy it now: it is shown this once.`),
          h("label", { for: "new-token" }, "New key"), token);
        token.select();
        token.focus();
        announce(`Key ${answer.key.name} made; it is shown this once`);
        await list();
      } catch (error) {
        showError(error);
      }
    },
  }, h("label", { for: "key-name" }, "Name (who or what it is for)"), name,
  h("fieldset", {}, h("legend", {}, "Scopes"), scopes),
  h("label", { for: "key-collections" }, "Collections"), where,
  h("small", { id: "key-collections-hint" }, "Separated by commas; * for all."),
  h("button", { type: "submit" }, "Create key"));

  await list();
  section.append(table, h("h3", {}, "New key"), create, made);
  return section;
}
