// Behaviour every app page shares, kept out of the markup so the Content-Security-Policy can refuse
// inline script: the environment switcher, confirmations before destructive posts, copy buttons, the
// new-environment form's schema preview.
(function () {
  "use strict";
  document.querySelectorAll("select[data-navigate]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.value) window.location.href = select.value; });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 1500);
      });
    });
  });
  // The new-environment form shows the warehouse schema its project and name give.
  var preview = document.querySelector("[data-schema-preview]");
  if (preview) {
    var parts = document.querySelectorAll("[data-schema-part]");
    var update = function () {
      var values = Array.prototype.map.call(parts, function (input) { return input.value.trim(); });
      preview.textContent = values.every(Boolean) ? values.join("_") : "<project>_<environment>";
    };
    parts.forEach(function (input) { input.addEventListener("input", update); });
  }
})();
