/*
 * Product editor enhancement (seller/product_editor.html): an "Add a row" button for the
 * variant grid. The editor works without it (it renders spare empty rows, and "Generate
 * combinations" is answered by the server). No inline handlers or styles (CSP).
 */
(function () {
  "use strict";
  var button = document.querySelector("[data-add-variant-row]");
  var rows = document.querySelector("[data-variant-rows]");
  var template = document.querySelector("template[data-variant-row-template]");
  var count = document.querySelector("input[data-variant-count]");
  if (!button || !rows || !template || !count) {
    return;
  }
  var LIMIT = 120;
  button.hidden = false;
  button.addEventListener("click", function () {
    var index = parseInt(count.value, 10) || 0;
    if (index >= LIMIT) {
      return;
    }
    var html = template.innerHTML.replace(/__i__/g, String(index));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("tr");
    if (!row) {
      return;
    }
    row.id = "variant-" + index;
    rows.appendChild(row);
    count.value = String(index + 1);
    var first = row.querySelector("input:not([type='hidden'])");
    if (first) {
      first.focus();
    }
  });
})();
