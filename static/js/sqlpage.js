// The SQL page: CodeMirror editor, run with Ctrl/Cmd+Enter, cancel, CSV, schema browser, quick chart.
// Without JavaScript the form still posts and the server renders the whole page with results.
(function () {
  "use strict";
  var root = document.getElementById("sqlpage");
  if (!root) return;
  var form = document.getElementById("sql-form");
  var textarea = document.getElementById("sql-editor");
  var results = document.getElementById("sql-results");
  var statusEl = document.getElementById("sql-status");
  var runButton = document.getElementById("sql-run");
  var cancelButton = document.getElementById("sql-cancel");
  var csvButton = document.getElementById("sql-csv");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var running = null; // {token, timer, started}
  var errorMark = null;

  var editor = CodeMirror.fromTextArea(textarea, {
    mode: "text/x-pgsql",
    lineNumbers: true,
    matchBrackets: true,
    indentWithTabs: false,
    viewportMargin: Infinity,
    extraKeys: {
      "Ctrl-Enter": function () { run(); },
      "Cmd-Enter": function () { run(); },
    },
  });
  window.heapsiteSqlEditor = editor; // for browser tests and the console

  function newToken() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // The selection if there is one, else everything; and where it starts, to place error marks.
  function currentQuery() {
    if (editor.somethingSelected()) {
      return { sql: editor.getSelection(), offset: editor.indexFromPos(editor.getCursor("from")) };
    }
    return { sql: editor.getValue(), offset: 0 };
  }

  function post(url, data, extraHeaders) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf);
    Object.keys(data).forEach(function (key) { body.append(key, data[key]); });
    var headers = { "X-Requested-With": "fetch" };
    Object.assign(headers, extraHeaders || {});
    return fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin" });
  }

  function setRunning(state) {
    running = state;
    runButton.disabled = !!state;
    cancelButton.disabled = !state;
    if (state) {
      statusEl.textContent = "Running…";
      state.timer = setInterval(function () {
        statusEl.textContent = "Running… " + ((Date.now() - state.started) / 1000).toFixed(1) + " s";
      }, 200);
    }
  }

  function finishRunning() {
    if (running && running.timer) clearInterval(running.timer);
    running = null;
    runButton.disabled = false;
    cancelButton.disabled = true;
    statusEl.textContent = "";
  }

  function run() {
    if (running) return;
    var query = currentQuery();
    var token = newToken();
    if (errorMark) { errorMark.clear(); errorMark = null; }
    setRunning({ token: token, started: Date.now() });
    post(root.dataset.runUrl, { sql: query.sql, run_token: token })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        finishRunning();
        results.innerHTML = html;
        markError(query.offset);
        setupChart();
        refreshHistory();
      })
      .catch(function (error) {
        finishRunning();
        results.innerHTML = "";
        var div = document.createElement("div");
        div.className = "sql-error";
        div.setAttribute("role", "alert");
        div.textContent = "The request failed: " + error;
        results.appendChild(div);
      });
  }

  function markError(offset) {
    var box = results.querySelector(".sql-error[data-error-position]");
    if (!box || !box.dataset.errorPosition) return;
    var index = offset + parseInt(box.dataset.errorPosition, 10) - 1;
    var from = editor.posFromIndex(index);
    var line = editor.getLine(from.line) || "";
    var end = from.ch;
    while (end < line.length && /[\w$."']/.test(line.charAt(end))) end++;
    var to = { line: from.line, ch: Math.max(end, from.ch + 1) };
    errorMark = editor.markText(from, to, { className: "cm-sql-error" });
    editor.setCursor(from);
    editor.focus();
  }

  function refreshHistory() {
    fetch(root.dataset.historyUrl, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (html) document.getElementById("sql-history").innerHTML = html; });
  }

  // The download happens outside the page, which cannot see it end: the history shows how it went
  // (rows, or "CSV failed after N rows"), so refresh it for a minute.
  var downloadWatch = null;
  function watchDownload() {
    if (downloadWatch) clearInterval(downloadWatch);
    var ticks = 0;
    downloadWatch = setInterval(function () {
      refreshHistory();
      if (++ticks >= 20) { clearInterval(downloadWatch); downloadWatch = null; }
    }, 3000);
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    editor.save();
    if (submitter === csvButton) {
      // A normal form post so the browser streams the download; send only the selection if any.
      var query = currentQuery();
      var hidden = form.querySelector("[name=run_token]");
      hidden.value = newToken();
      textarea.value = query.sql;
      setTimeout(function () { textarea.value = editor.getValue(); }, 0);
      watchDownload();
      return;
    }
    event.preventDefault();
    run();
  });

  cancelButton.addEventListener("click", function () {
    if (!running) return;
    statusEl.textContent = "Cancelling…";
    post(root.dataset.cancelUrl, { run_token: running.token })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (!data.cancelled && running) statusEl.textContent = data.message; });
  });

  ["sql-save-form", "sql-update-form"].forEach(function (id) {
    var saveForm = document.getElementById(id);
    if (saveForm) saveForm.addEventListener("submit", function () {
      saveForm.querySelector("[name=sql]").value = editor.getValue();
    });
  });

  var copyLink = document.querySelector("[data-copy-value]");
  if (copyLink) copyLink.addEventListener("click", function () {
    var input = document.getElementById(copyLink.dataset.copyValue);
    navigator.clipboard.writeText(input.value).then(function () { copyLink.textContent = "Copied"; });
  });

  root.addEventListener("click", function (event) {
    var insert = event.target.closest(".sql-insert");
    if (insert) {
      event.preventDefault();
      editor.replaceSelection(insert.dataset.insert);
      editor.focus();
      return;
    }
    var load = event.target.closest(".sql-load");
    if (load && load.dataset.sql !== undefined) {
      event.preventDefault();
      editor.setValue(load.dataset.sql);
      editor.focus();
      return;
    }
    var chartToggle = event.target.closest(".sql-chart-toggle");
    if (chartToggle) {
      var chart = results.querySelector(".sql-chart");
      chart.hidden = !chart.hidden;
      if (!chart.hidden) drawChart(chart, chart.dataset.kind || "auto");
    }
    var kindButton = event.target.closest(".sql-chart-kind");
    if (kindButton) drawChart(results.querySelector(".sql-chart"), kindButton.dataset.kind);
  });

  // ---- quick chart: first column on x, numeric columns as series; line for time/number x, bar otherwise.
  function setupChart() {
    var table = results.querySelector("table.sql-results");
    var toggle = results.querySelector(".sql-chart-toggle");
    if (!table || !toggle) return;
    var kinds = Array.prototype.map.call(table.querySelectorAll("thead th[data-kind]"), function (th) { return th.dataset.kind; });
    var hasSeries = kinds.slice(1).some(function (k) { return k === "number"; }) || (kinds.length === 1 && kinds[0] === "number");
    toggle.hidden = !hasSeries;
  }

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function drawChart(container, kind) {
    var table = results.querySelector("table.sql-results");
    if (!table) return;
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th[data-kind]"));
    var kinds = heads.map(function (th) { return th.dataset.kind; });
    var names = heads.map(function (th) { return th.firstChild.textContent; });
    var series = [];
    for (var i = 1; i < kinds.length && series.length < 4; i++) if (kinds[i] === "number") series.push(i);
    var xIndex = 0;
    if (!series.length && kinds[0] === "number") { series = [0]; xIndex = -1; }
    if (kind === "auto") kind = kinds[0] === "time" || kinds[0] === "number" ? "line" : "bar";
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"), 0, 500).map(function (tr) {
      var cells = tr.querySelectorAll("td:not(.rownum)");
      return Array.prototype.map.call(cells, function (td) { return td.classList.contains("null") ? null : td.textContent; });
    });
    var width = 720, height = 260, pad = 40;
    var values = [];
    rows.forEach(function (row) { series.forEach(function (s) { var v = parseFloat(row[s]); if (!isNaN(v)) values.push(v); }); });
    var max = Math.max.apply(null, values.concat([0])), min = Math.min.apply(null, values.concat([0]));
    var span = max - min || 1;
    var colors = ["#5b3cc4", "#067647", "#b54708", "#b42318"];
    var svg = ['<svg class="sql-chart-svg" viewBox="0 0 ' + width + " " + height + '" role="img" aria-label="' + kind + ' chart">'];
    svg.push('<line x1="' + pad + '" y1="' + (height - pad) + '" x2="' + (width - 10) + '" y2="' + (height - pad) + '" stroke="#999"/>');
    svg.push('<text x="4" y="' + (pad - 10) + '" font-size="11">' + max + "</text>");
    svg.push('<text x="4" y="' + (height - pad) + '" font-size="11">' + min + "</text>");
    var n = rows.length || 1;
    var step = (width - pad - 10) / n;
    function y(v) { return height - pad - ((v - min) / span) * (height - 2 * pad); }
    series.forEach(function (s, k) {
      if (kind === "line") {
        var points = rows.map(function (row, j) { var v = parseFloat(row[s]); return isNaN(v) ? null : (pad + step * (j + 0.5)).toFixed(1) + "," + y(v).toFixed(1); })
          .filter(Boolean).join(" ");
        svg.push('<polyline class="series" fill="none" stroke="' + colors[k] + '" stroke-width="2" points="' + points + '"/>');
      } else {
        var barWidth = Math.max(step / series.length - 2, 1);
        rows.forEach(function (row, j) {
          var v = parseFloat(row[s]);
          if (isNaN(v)) return;
          var top = Math.min(y(v), y(0)), h = Math.abs(y(v) - y(0));
          svg.push('<rect class="series" x="' + (pad + step * j + k * barWidth).toFixed(1) + '" y="' + top.toFixed(1) + '" width="' + barWidth.toFixed(1) + '" height="' + h.toFixed(1) + '" fill="' + colors[k] + '"/>');
        });
      }
    });
    if (xIndex >= 0 && rows.length) {
      // First and last x values as axis labels (escaped: they are user data).
      var first = escapeText(rows[0][xIndex] || ""), last = escapeText(rows[rows.length - 1][xIndex] || "");
      svg.push('<text x="' + pad + '" y="' + (height - pad + 16) + '" font-size="11">' + first + "</text>");
      svg.push('<text x="' + (width - 10) + '" y="' + (height - pad + 16) + '" font-size="11" text-anchor="end">' + last + "</text>");
    }
    svg.push("</svg>");
    container.innerHTML = '<div class="sql-chart-bar"><button type="button" class="sql-chart-kind" data-kind="line">Line</button>' +
      '<button type="button" class="sql-chart-kind" data-kind="bar">Bar</button> <span class="sql-chart-legend"></span></div>' + svg.join("");
    // Column names are user data: set as text, never as markup.
    var legendEl = container.querySelector(".sql-chart-legend");
    series.forEach(function (s, k) {
      var swatch = document.createElement("span");
      swatch.style.color = colors[k];
      swatch.textContent = "■ ";
      legendEl.appendChild(swatch);
      legendEl.appendChild(document.createTextNode(names[s] + (xIndex >= 0 ? " by " + names[xIndex] : "") + "  "));
    });
    container.dataset.kind = kind;
  }

  setupChart();
  markError(0);
  // A saved query opened from its link runs at once.
  if (root.dataset.autorun === "1" && editor.getValue().trim()) run();
})();
