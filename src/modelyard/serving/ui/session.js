// Who is signed in: the session the API reports for the tab's key, and the key form.

import { api, key } from "./api.js";
import { h, main, present, who } from "./dom.js";
import { render } from "./router.js";

let session = null;

export function canWrite() { return Boolean(session && session.scopes.includes("write")); }

async function loadSession() {
  session = await api("/api/session");
  const s = session;
  who.replaceChildren(...present([
    s.auth
      ? h("span", {}, `key ${s.key} · ${s.scopes.join(", ")}`)
      : h("span", {}, "dev mode: no key needed"),
    s.auth ? h("button", { class: "small", onclick: forgetKey }, "Forget key") : null,
  ]));
}

export async function ensureSession() {
  if (!session) await loadSession();
}

export function askForKey(error) {  // a 401 anywhere: ask for a (new) key
  if (error.status !== 401) return false;
  keyForm(key.get() ? "That key is not valid (or revoked)." : "");
  return true;
}

function forgetKey() {
  key.forget();
  session = null;
  who.replaceChildren();
  render();
}

function keyForm(message) {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true,
    spellcheck: "false", size: 48 });
  const problem = h("div", { "aria-live": "polite" }, message ? h("p", { class: "error" }, message) : null);
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      key.set(input.value.trim());
      try {
        await loadSession();
        render();
      } catch (e) {
        key.forget();
        problem.replaceChildren(h("p", { class: "error" },
          e.status === 401 ? "That key is not valid (or revoked)." : e.message));
        input.focus();
      }
    },
  },
  h("h1", {}, "Sign in with an API key"),
  h("p", { class: "sub" },
    "Pages need a key with the read scope; promoting, rolling back and steering rollouts " +
    "need write. The key stays in this browser tab only (session storage). Create one with " +
    "`modelyard keys create --scope read`."),
  h("label", { for: "key" }, "API key"),
  input,
  h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Use this key")),
  problem);
  main.replaceChildren(form);
  input.focus();
}
