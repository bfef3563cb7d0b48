// tiaki console: a few conveniences; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Filter selects apply at once.
  var filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select, input[type=checkbox]").forEach(function (el) {
      el.addEventListener("change", function () {
        // A changed filter starts again at the first page.
        filters.requestSubmit ? filters.requestSubmit() : filters.submit();
      });
    });
  }
});
