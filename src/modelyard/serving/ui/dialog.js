// The confirm dialog every action goes through: it asks for a reason (for the audit log),
// runs the action, then says what changed and draws the page again.

import { dialog, h, problemBox, say } from "./dom.js";
import { render } from "./router.js";

export function openDialog(title, body, confirmLabel, onConfirm, options = {}) {
  const reason = h("textarea", { id: "reason", required: true, maxlength: 1000,
    placeholder: "Why? It goes to the audit log." });
  const problem = h("div", { "aria-live": "assertive" });
  const confirm = h("button", { class: options.danger ? "danger" : "primary", type: "submit",
    id: "confirm" }, confirmLabel);
  const form = h("form", {
    method: "dialog",
    onsubmit: async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) { problem.replaceChildren(h("p", { class: "error" }, "Say why (a reason is required).")); reason.focus(); return; }
      confirm.disabled = true;
      problem.replaceChildren(h("p", { class: "muted" }, "Working…"));
      try {
        const message = await onConfirm(reason.value.trim(), problem);
        if (message) {
          dialog.close();
          say(message);
          render();
        } else {
          confirm.disabled = false;
        }
      } catch (e) {
        problem.replaceChildren(problemBox(e));
        confirm.disabled = false;
      }
    },
  },
  h("h2", { id: "dialog-title" }, title),
  body,
  h("label", { for: "reason" }, "Reason (required)"),
  reason,
  problem,
  h("div", { class: "actions" },
    h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
    confirm));
  dialog.replaceChildren(form);
  dialog.showModal();
  (options.focus || reason).focus();
  return { confirm, problem };
}
