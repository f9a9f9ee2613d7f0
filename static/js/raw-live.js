// Live mode for the raw events list: every few seconds, ask the same URL (same filters) for rows
// newer than the newest one shown and put them on top. The button pauses and resumes it.
(() => {
  "use strict";
  const button = document.getElementById("live-toggle");
  const rows = document.getElementById("event-rows");
  const status = document.getElementById("live-status");
  if (!button || !rows) return;
  const INTERVAL_MS = 3000;
  const MAX_ROWS = 500;
  let latest = button.dataset.latestId || "0";
  let running = true;
  let timer = null;

  async function poll() {
    timer = null;
    if (!running) return;
    try {
      const url = button.dataset.liveUrl + (button.dataset.liveUrl.includes("?") ? "&" : "?") + "live=" + latest;
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
      if (response.ok) {
        latest = response.headers.get("X-Latest-Id") || latest;
        const html = (await response.text()).trim();
        if (html) {
          const template = document.createElement("template");
          template.innerHTML = html;
          const fresh = template.content.querySelectorAll("tr");
          fresh.forEach((tr) => tr.classList.add("fresh"));
          rows.prepend(template.content);
          while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
          status.textContent = `Live: ${fresh.length} new event${fresh.length === 1 ? "" : "s"} at ${new Date().toLocaleTimeString()}.`;
        }
      } else {
        setRunning(false, `Live paused: the server answered ${response.status}.`);
        return;
      }
    } catch (error) {
      status.textContent = "Live: cannot reach the server, retrying.";
    }
    schedule();
  }

  function schedule() {
    if (running && timer === null) timer = setTimeout(poll, INTERVAL_MS);
  }

  function setRunning(value, reason) {
    running = value;
    button.textContent = running ? "Pause live" : "Resume live";
    button.setAttribute("aria-pressed", String(running));
    if (running) {
      status.textContent = "Live: new events appear here as they arrive.";
      schedule();
      return;
    }
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    status.textContent = reason || "Paused: new events are not added until you resume.";
  }

  button.addEventListener("click", () => setRunning(!running));
  document.addEventListener("visibilitychange", () => {
    // No polling from a background tab; catch up when it is shown again.
    if (document.hidden && timer !== null) {
      clearTimeout(timer);
      timer = null;
    } else if (!document.hidden) {
      schedule();
    }
  });
  schedule();
})();
