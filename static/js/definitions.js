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

  function conditionRow(group, condition, index) {
    const row = el("div", { class: "condition" });
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
    const head = el("div", { class: "condition" });
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
    group.conditions.forEach((condition, i) => box.append(conditionRow(group, condition, i)));
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
  }

  // ---- live preview ----
  let timer = null;
  let inFlight = null;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 400);
  }
  async function refreshPreview() {
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    try {
      const response = await fetch(form.dataset.previewUrl, { method: "POST", body: new FormData(form), signal: inFlight.signal });
      const html = await response.text();
      const target = document.getElementById("preview");
      if (target) target.outerHTML = html;
    } catch (error) {
      if (error.name !== "AbortError") console.warn("preview failed", error);
    }
  }

  builder.hidden = false;
  textarea.closest("label").hidden = true;
  render();
  form.addEventListener("input", (event) => { if (event.target === textarea) schedulePreview(); });
  schedulePreview();
})();
