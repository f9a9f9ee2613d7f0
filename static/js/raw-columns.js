// The raw events list's column chooser: each checkbox shows or hides a column (the table's hide-<column>
// classes), remembered in this browser. Without JavaScript the default columns show.
(() => {
  "use strict";
  const table = document.getElementById("events-table");
  const chooser = document.getElementById("column-chooser");
  if (!table || !chooser) return;
  const KEY = "heapsite.raw.hiddenColumns";
  const boxes = Array.from(chooser.querySelectorAll("input[data-column-toggle]"));
  let hidden;
  try {
    hidden = JSON.parse(window.localStorage.getItem(KEY) || "null");
  } catch (error) {
    hidden = null;
  }
  if (!Array.isArray(hidden)) hidden = boxes.map((box) => box.value).filter((col) => table.classList.contains(`hide-${col}`));
  const apply = () => {
    for (const box of boxes) {
      table.classList.toggle(`hide-${box.value}`, hidden.includes(box.value));
      box.checked = !hidden.includes(box.value);
    }
  };
  chooser.addEventListener("change", (event) => {
    const box = event.target.closest("input[data-column-toggle]");
    if (!box) return;
    hidden = box.checked ? hidden.filter((col) => col !== box.value) : [...hidden, box.value];
    try {
      window.localStorage.setItem(KEY, JSON.stringify(hidden));
    } catch (error) {
      // storage refused (private mode): the choice lasts for this page only
    }
    apply();
  });
  apply();
})();
