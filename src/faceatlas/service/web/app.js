// The web app's shell: log in (an API key exchanged for a session cookie), the header (pages, collection picker,
// who is logged in) and the pages by the address's #fragment: #/people, #/people/NAME, #/review, #/search, #/admin.

import { api, announce, h, setCsrf, showError } from "./ui.js";
import * as admin from "./admin.js";
import * as people from "./people.js";
import * as review from "./review.js";
import * as search from "./search.js";

const PICKED = "faceatlas.collection";
const context = { who: null, collection: null, setCollection, refreshCollections };
let leave = null;  // the open page's cleanup (its keyboard listener)

function byId(id) {
  return document.getElementById(id);
}

async function start() {
  byId("login-form").addEventListener("submit", logIn);
  byId("logout").addEventListener("click", logOut);
  byId("collection").addEventListener("change", (event) => setCollection(event.target.value));
  window.addEventListener("hashchange", show);
  try {
    loggedIn(await api("GET", "/v1/session"));
  } catch {
    showLogin();
  }
}

function showLogin() {
  context.who = null;
  byId("top").hidden = true;
  byId("page").replaceChildren();
  byId("login").hidden = false;
  byId("api-key").focus();
}

async function logIn(event) {
  event.preventDefault();
  const field = byId("api-key");
  try {
    const who = await api("POST", "/v1/session", { key: field.value });
    field.value = "";
    byId("login-error").textContent = "";
    await loggedIn(who);
    announce(`Logged in as ${who.name}`);
  } catch (error) {
    byId("login-error").textContent = error.status === 401 ? "That key is not valid (or was revoked)." : error.message;
    field.focus();
  }
}

async function logOut() {
  try {
    await api("DELETE", "/v1/session");
  } catch (error) {
    if (error.status !== 401) return showError(error);
  }
  if (leave) leave();
  leave = null;
  showLogin();
  announce("Logged out");
}

async function loggedIn(who) {
  context.who = who;
  setCsrf(who.csrf_token);
  byId("login").hidden = true;
  byId("top").hidden = false;
  byId("who").textContent = `${who.name} (${who.scopes.join(", ")})`;
  byId("admin-link").hidden = !who.scopes.includes("admin");
  await refreshCollections();
  await show();
}

// The picker: the store's collections this key may touch and the ones it is made for (perhaps not created yet).
async function refreshCollections(extra) {
  let names = [];
  try {
    names = await api("GET", "/v1/collections");
  } catch (error) {
    showError(error);
  }
  const own = context.who.collections.filter((c) => c !== "*");
  const all = [...new Set([...names, ...own, ...(extra ? [extra] : []), ...(names.length || own.length ? [] : ["default"])])];
  const wanted = extra || context.collection || localStorage.getItem(PICKED);
  context.collection = all.includes(wanted) ? wanted : all[0];
  byId("collection").replaceChildren(...all.map((name) => h("option", { value: name }, name)));
  byId("collection").value = context.collection;
}

async function setCollection(name) {
  if (!name) return;
  if (![...byId("collection").options].some((option) => option.value === name)) await refreshCollections(name);
  context.collection = name;
  byId("collection").value = name;
  localStorage.setItem(PICKED, name);
  announce(`Collection ${name}`);
  if (location.hash.startsWith("#/people/")) location.hash = "#/people";
  else await show();
}

async function show() {
  if (!context.who) return;
  if (leave) leave();
  leave = null;
  const [, page = "people", ...rest] = location.hash.replace(/^#/, "").split("/");
  const pages = { people, review, search, admin };
  const chosen = pages[page] && (page !== "admin" || context.who.scopes.includes("admin")) ? page : "people";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === chosen) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const region of ["status", "alert"]) byId(region).textContent = "";  // not about the page opened
  const container = h("div", { id: "page" });
  byId("page").replaceWith(container);
  const name = rest.length ? decodeURIComponent(rest.join("/")) : null;
  document.title = `${chosen[0].toUpperCase()}${chosen.slice(1)} · FaceAtlas`;
  try {
    leave = (await pages[chosen].render(container, context, name)) || null;
  } catch (error) {
    if (error.status === 401) return showLogin();  // the session expired, or its key was revoked
    showError(error);
  }
  if (!container.contains(document.activeElement)) container.querySelector(".page-title")?.focus();
}

start();
