// The definition editor: a form builder over the match-groups JSON, and a live preview.
// Without JavaScript the JSON textarea and the Preview button do the same job.
(() => {
  "use strict";
  const form = document.getElementById("definition-form");
  if (!form) return;
  const textarea = document.getElementById("groups-json");
  const builder = document.getElementById("builder");
  const config = JSON.parse(document.getElementById("builder-config").textContent);
  const CONDITIONS = {
    pageview: ["domain", "path", "query", "hash", "property"],
    click: ["selector", "text", "href", "domain", "path", "query", "hash", "property"],
    custom: ["domain", "path", "query", "hash", "property"],
  };
  CONDITIONS.submit = CONDITIONS.change = CONDITIONS.click;
  const LABELS = { selector: "CSS selector", text: "Target text", href: "Link href", property: "Property" };
  // Problems by where they are ("groups[0].conditions[1]" -> message): shown next to that group or condition.
  let errors = JSON.parse(document.getElementById("definition-errors").textContent || "{}");

  let groups;
  try {
    groups = JSON.parse(textarea.value || "[]");
    if (!Array.isArray(groups)) throw new Error("not a list");
  } catch (error) {
    return; // leave the raw JSON to the person (the server reports what is wrong)
  }

  const el = (tag, attrs = {}, children = []) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const select = (options, value, onchange, label) =>
    el("select", { onchange, "aria-label": label }, options.map(([v, text]) => {
      const option = el("option", { value: v }, [text]);
      option.selected = String(v) === String(value);
      return option;
    }));
  const input = (value, oninput, attrs = {}) => {
    const node = el("input", { ...attrs, oninput });
    node.value = value === undefined || value === null ? "" : String(value);
    return node;
  };

  function changed(rerender) {
    textarea.value = JSON.stringify(groups, null, 2);
    if (rerender) render();
    schedulePreview();
  }

  function conditionRow(group, condition, index, groupIndex) {
    const row = el("div", { class: "condition", "data-path": `groups[${groupIndex}].conditions[${index}]` });
    const allowed = CONDITIONS[group.kind] || [];
    row.append(select(allowed.map((t) => [t, LABELS[t] || t]), condition.type, (event) => {
      const type = event.target.value;
      group.conditions[index] = { type, value: "" };
      if (config.ops[type]) group.conditions[index].op = config.ops[type][0];
      changed(true);
    }, "Condition"));
    if (condition.type === "property") {
      row.append(input(condition.key, (event) => { condition.key = event.target.value; changed(false); },
        { placeholder: "property name", "aria-label": "Property name", size: 12 }));
    }
    if (config.ops[condition.type]) {
      row.append(select(config.ops[condition.type].map((op) => [op, op.replace(/_/g, " ")]), condition.op, (event) => {
        condition.op = event.target.value;
        if (condition.op === "is_set" || condition.op === "is_not_set") delete condition.value;
        changed(true);
      }, "Operator"));
    }
    if (!(condition.op === "is_set" || condition.op === "is_not_set")) {
      const placeholder = condition.type === "selector" ? "#signup button.primary" : condition.type === "path" ? "/pricing/*" : "";
      row.append(input(condition.value, (event) => { condition.value = event.target.value; changed(false); },
        { class: "value", placeholder, "aria-label": "Value" }));
    }
    row.append(el("button", { type: "button", title: "Remove condition", onclick: () => {
      group.conditions.splice(index, 1);
      changed(true);
    } }, ["×"]));
    return row;
  }

  function groupBox(group, index) {
    const box = el("div", { class: "group" });
    const head = el("div", { class: "condition group-head", "data-path": `groups[${index}]` });
    head.append(select(config.kinds.map((k) => [k, k]), group.kind, (event) => {
      const kind = event.target.value;
      groups[index] = kind === "combo" ? { kind, definitions: [] } : kind === "custom" ? { kind, event_name: "", conditions: [] } : { kind, conditions: [] };
      changed(true);
    }, "Kind"));
    if (group.kind === "custom") {
      head.append(input(group.event_name, (event) => { group.event_name = event.target.value; changed(false); },
        { placeholder: "track() event name", "aria-label": "Event name", class: "value" }));
    }
    head.append(el("button", { type: "button", title: "Remove group", onclick: () => { groups.splice(index, 1); changed(true); } }, ["Remove group"]));
    box.append(head);
    if (group.kind === "combo") {
      for (const other of config.definitions) {
        const box2 = el("input", { type: "checkbox", onchange: (event) => {
          const ids = new Set(group.definitions || []);
          if (event.target.checked) ids.add(other.id); else ids.delete(other.id);
          group.definitions = Array.from(ids);
          changed(false);
        } });
        box2.checked = (group.definitions || []).includes(other.id);
        box.append(el("label", { class: "condition" }, [box2, " " + other.name]));
      }
      return box;
    }
    group.conditions = group.conditions || [];
    group.conditions.forEach((condition, i) => box.append(conditionRow(group, condition, i, index)));
    box.append(el("button", { type: "button", onclick: () => {
      group.conditions.push({ type: (CONDITIONS[group.kind] || ["path"])[0], value: "" });
      changed(true);
    } }, ["+ Condition"]));
    return box;
  }

  function render() {
    builder.replaceChildren();
    groups.forEach((group, i) => {
      if (i) builder.append(el("div", { class: "group-or" }, ["or"]));
      builder.append(groupBox(group, i));
    });
    builder.append(el("button", { type: "button", onclick: () => { groups.push({ kind: "click", conditions: [] }); changed(true); } }, ["+ Or another group"]));
    markErrors();
  }

  // Each message goes after the deepest row its path names: a condition's row, else its group's head,
  // else the top of the builder; the row's inputs are marked invalid.
  function markErrors() {
    builder.querySelectorAll(".field-error").forEach((node) => node.remove());
    builder.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    for (const [path, message] of Object.entries(errors)) {
      if (!path.startsWith("groups")) continue;
      const rows = Array.from(builder.querySelectorAll("[data-path]")).filter((row) => path === row.dataset.path
        || path.startsWith(row.dataset.path + ".") || path.startsWith(row.dataset.path + "["));
      const row = rows.sort((a, b) => b.dataset.path.length - a.dataset.path.length)[0];
      const note = el("p", { class: "field-error", role: "alert" }, [message]);
      if (row) {
        row.after(note);
        row.querySelectorAll("input, select").forEach((input) => input.setAttribute("aria-invalid", "true"));
      } else {
        builder.prepend(note);
      }
    }
  }

  // ---- live preview ----
  let timer = null;
  let inFlight = null;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 400);
  }
  // exact: ask for exact counts (sent after an answer estimated from a sample, docs/raw-browser.md "Estimates");
  // an edit meanwhile aborts it and starts over.
  async function refreshPreview(exact) {
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    try {
      const body = new FormData(form);
      if (exact === true) body.set("exact", "1");
      const response = await fetch(form.dataset.previewUrl, { method: "POST", body: body, signal: controller.signal });
      const html = await response.text();
      const target = document.getElementById("preview");
      if (target) target.outerHTML = html;
      const problems = document.querySelector("#preview .preview-problems");
      errors = problems ? JSON.parse(problems.dataset.errors || "{}") : {};
      markErrors();
      if (exact !== true && inFlight === controller && document.querySelector("#preview [data-exact-pending]")) {
        refreshPreview(true);
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        console.warn("preview failed", error);
        const status = document.querySelector("#preview [data-exact-status]");
        if (status) status.textContent = "The exact preview could not be fetched.";
      }
    }
  }

  builder.hidden = false;
  textarea.closest("label").hidden = true;
  const listed = document.getElementById("group-errors");
  if (listed) listed.hidden = true; // the builder shows them next to their fields
  render();
  form.addEventListener("input", (event) => { if (event.target === textarea) schedulePreview(); });
  // A brand-new, still empty definition has nothing to preview (and nothing wrong with it yet).
  const untouched = !form.querySelector("[name=definition]") && groups.every((group) =>
    !(group.conditions || []).length && !group.event_name && !(group.definitions || []).length);
  if (!untouched) schedulePreview();
})();
