// Upload with a progress bar: large CSV files take a while to send before the server can stage them.
(function () {
  "use strict";
  var form = document.getElementById("csv-upload");
  if (!form || !window.XMLHttpRequest) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var bar = form.querySelector(".progress"), fill = bar.querySelector("span");
    var label = form.querySelector("[data-progress-label]");
    var request = new XMLHttpRequest();
    bar.hidden = false;
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      fill.style.width = percent + "%";
      label.textContent = percent < 100 ? "Uploading " + percent + "%" : "Reading the file into the database…";
    });
    request.addEventListener("load", function () { window.location.href = request.responseURL; });
    request.addEventListener("error", function () { label.textContent = "Upload failed: the server could not be reached"; });
    request.open("POST", form.action);
    request.send(new FormData(form));
  });
})();
