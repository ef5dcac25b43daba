/*
 * ShopReel checkout.js: the card form of the checkout's review page.
 *
 * The card inputs have no `name`, so the browser never posts them to ShopReel. On submit
 * this script sends them to the payment provider's tokenization endpoint (the sandbox's
 * public POST /api/v1/payments/sandbox/tokens), puts the returned token into the form's
 * hidden `token` field and submits the form (CSRF token + card token only) to
 * /checkout/{id}/pay. The card fields are cleared before the form leaves the page.
 *
 * Without this file the card fields stay hidden and a <noscript> note explains why.
 */
(function () {
  "use strict";

  var TOKENS = "/api/v1/payments/sandbox/tokens";

  function digits(value) {
    return String(value || "").replace(/[\s-]/g, "");
  }

  function setup(form) {
    var fields = form.querySelector("[data-card-fields]");
    var tokenInput = form.querySelector("[data-card-token]");
    var number = form.querySelector("[data-card-number]");
    var month = form.querySelector("[data-card-exp-month]");
    var year = form.querySelector("[data-card-exp-year]");
    var cvc = form.querySelector("[data-card-cvc]");
    var error = form.querySelector("[data-card-error]");
    var submit = form.querySelector("[data-card-submit]");
    if (!fields || !tokenInput || !number || !month || !year || !cvc || !submit) return;
    fields.hidden = false;
    var busy = false;

    function showError(message) {
      if (!error) return;
      error.textContent = message || "";
      error.hidden = !message;
    }

    function setBusy(value) {
      busy = value;
      submit.disabled = value;
      form.setAttribute("aria-busy", value ? "true" : "false");
      if (value) submit.classList.add("is-loading");
      else submit.classList.remove("is-loading");
    }

    function check() {
      var card = digits(number.value);
      if (!/^[0-9]{12,19}$/.test(card)) return ["Enter the card number.", number];
      var m = parseInt(month.value, 10);
      if (!(m >= 1 && m <= 12)) return ["Enter the expiry month (1 to 12).", month];
      var y = parseInt(year.value, 10);
      if (!(y >= 0)) return ["Enter the expiry year.", year];
      if (!/^[0-9]{3,4}$/.test(digits(cvc.value))) return ["Enter the 3-digit security code.", cvc];
      return null;
    }

    form.addEventListener("submit", function (event) {
      // Handled here: app.js sees defaultPrevented and leaves this form alone.
      event.preventDefault();
      if (busy) return;
      var problem = check();
      if (problem) {
        showError(problem[0]);
        problem[1].focus();
        return;
      }
      showError("");
      setBusy(true);
      var y = parseInt(year.value, 10);
      var body = {
        number: digits(number.value),
        exp_month: parseInt(month.value, 10),
        exp_year: y < 100 ? 2000 + y : y,
        cvc: digits(cvc.value)
      };
      fetch(TOKENS, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "omit",
        body: JSON.stringify(body)
      })
        .then(function (response) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (data) {
              if (!response.ok || !data.token) {
                throw new Error(data.detail || "The card could not be read. Check it and try again.");
              }
              return data.token;
            });
        })
        .then(function (token) {
          tokenInput.value = token;
          number.value = "";
          cvc.value = "";
          form.submit();
        })
        .catch(function (failure) {
          setBusy(false);
          var message = failure && failure.message ? failure.message : "";
          if (!message || failure instanceof TypeError) {
            message = "The card could not be sent. Check your connection and try again.";
          }
          showError(message);
        });
    });

    // Back/forward cache: a page restored after submitting must be usable again.
    window.addEventListener("pageshow", function () {
      setBusy(false);
      tokenInput.value = "";
    });
  }

  function init() {
    document.querySelectorAll("form[data-checkout-pay]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
