/*
 * product-images.js: checks an image's size before it is uploaded, so a seller
 * does not wait for a large upload only to be told it is too large. The server
 * enforces the same limit (and everything else) regardless; pages work without
 * this file.
 *
 * Hook: form[data-image-upload] containing input[type=file][data-max-bytes] and
 * an (initially hidden) [data-image-error] element for the message.
 */
(function () {
  "use strict";

  // Both image partials load this file; wire the listeners once.
  if (window.ShopReelImageUpload) return;
  window.ShopReelImageUpload = true;

  function megabytes(bytes) {
    return Math.round(bytes / 104857.6) / 10;
  }

  function check(input) {
    var form = input.form;
    var message = form ? form.querySelector("[data-image-error]") : null;
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    var text = "";
    if (file && limit && file.size > limit) {
      text = "This file is " + megabytes(file.size) + " MB; the limit is " + megabytes(limit) + " MB.";
    }
    input.setCustomValidity(text);
    if (message) {
      message.textContent = text;
      message.hidden = !text;
    }
    if (text) {
      input.setAttribute("aria-invalid", "true");
      if (message && message.id) input.setAttribute("aria-errormessage", message.id);
    } else {
      input.removeAttribute("aria-invalid");
    }
    return !text;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.matches && input.matches("form[data-image-upload] input[type=file][data-max-bytes]")) {
      check(input);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-image-upload]")) return;
    var input = form.querySelector("input[type=file][data-max-bytes]");
    if (input && !check(input)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);
})();
