// Pages that first show counts estimated from a sample ("≈", docs/raw-browser.md "Estimates") fetch
// the exact counts right away: the same URL with exact=1, whose [data-exact-target] replaces this
// page's. Without JavaScript the "Compute exact counts" link does the same.
(() => {
  "use strict";
  const note = document.querySelector("[data-exact-url]");
  const target = document.querySelector("[data-exact-target]");
  if (!note || !target) return;
  const status = note.querySelector("[data-exact-status]");
  fetch(note.dataset.exactUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    })
    .then((html) => {
      const exact = new DOMParser().parseFromString(html, "text/html").querySelector("[data-exact-target]");
      if (!exact) throw new Error("no exact counts in the answer");
      target.replaceWith(document.importNode(exact, true));
    })
    .catch((error) => {
      if (status) status.textContent = "The exact counts could not be fetched (" + error.message + ").";
    });
})();
