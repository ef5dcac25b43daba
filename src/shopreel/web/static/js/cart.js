/*
 * ShopReel cart.js: the slide-over cart in the header (progressive enhancement).
 *
 * Without this file the cart button is a link to /cart, which works on its own.
 * With it: the header count is filled from GET /api/v1/cart, and opening the panel
 * (app.js dispatches "panel:open" on #cart-panel) loads the cart into it, with
 * -/+ and Remove buttons that PATCH /api/v1/cart/items/{variant_id}. Writes carry
 * the page's CSRF token in the X-CSRF-Token header (the session cookie rides along,
 * same origin). Everything is built with textContent: no HTML from the API is parsed.
 */
(function () {
  "use strict";

  var doc = document;
  var API = "/api/v1/cart";

  function panelRoot() {
    return doc.querySelector("[data-cart-panel]");
  }

  function csrfToken() {
    var root = panelRoot();
    return root ? root.getAttribute("data-csrf") || "" : "";
  }

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function money(cents, currency) {
    try {
      var format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" });
      var digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(cents / Math.pow(10, digits));
    } catch (error) {
      return (cents / 100).toFixed(2) + " " + (currency || "");
    }
  }

  function setCount(cart) {
    doc.querySelectorAll("[data-cart-count]").forEach(function (node) {
      var count = cart ? cart.item_count : 0;
      node.textContent = count > 0 ? String(count) : "";
      node.hidden = !(count > 0);
      var label = node.closest("[data-cart-button]");
      if (label) label.setAttribute("aria-label", "Cart, " + count + " item" + (count === 1 ? "" : "s"));
    });
  }

  function setStatus(message) {
    var root = panelRoot();
    var status = root && root.querySelector("[data-cart-status]");
    if (!status) return;
    status.textContent = message || "";
    status.hidden = !message;
  }

  function request(method, path, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = csrfToken();
    }
    return fetch(path, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok) {
            var error = new Error(data.detail || "Something went wrong. Try again.");
            error.code = data.code;
            throw error;
          }
          return data;
        });
    });
  }

  function notice(line) {
    if (line.unavailable) return line.unavailable_message || "This item cannot be bought now.";
    var parts = [];
    if (line.price_change) {
      parts.push("Was " + money(line.price_change.was_cents, line.currency) + " when you added it.");
    }
    if (line.short) {
      parts.push(line.available > 0 ? "Only " + line.available + " available." : "Out of stock right now.");
    }
    return parts.join(" ");
  }

  function quantityButton(label, text, quantity, line) {
    var button = el("button", "btn btn--secondary btn--sm btn--icon", text);
    button.type = "button";
    button.setAttribute("aria-label", label + ": " + line.title);
    button.setAttribute("data-cart-set", String(quantity));
    button.setAttribute("data-variant-id", line.variant_id);
    return button;
  }

  function renderLine(line) {
    var item = el("li", "stack stack--sm");
    var head = el("div", "cluster");
    var link = el("a", "", line.title);
    link.href = line.url;
    head.appendChild(link);
    var options = Object.keys(line.options || {}).map(function (name) {
      return name + ": " + line.options[name];
    });
    if (options.length) head.appendChild(el("span", "text-sm text-muted", options.join(" · ")));
    head.appendChild(el("span", "text-accent", money(line.unit_price_cents, line.currency)));
    item.appendChild(head);
    var message = notice(line);
    if (message) item.appendChild(el("p", "text-sm text-muted", message));
    var controls = el("div", "cluster");
    controls.appendChild(quantityButton("Decrease quantity", "−", line.quantity - 1, line));
    controls.appendChild(el("span", "", line.quantity)).setAttribute("aria-label", "Quantity " + line.quantity);
    if (!line.unavailable) controls.appendChild(quantityButton("Increase quantity", "+", line.quantity + 1, line));
    var remove = el("button", "btn btn--ghost btn--sm", "Remove");
    remove.type = "button";
    remove.setAttribute("data-cart-set", "0");
    remove.setAttribute("data-variant-id", line.variant_id);
    remove.setAttribute("aria-label", "Remove " + line.title);
    controls.appendChild(remove);
    item.appendChild(controls);
    return item;
  }

  function render(cart) {
    var root = panelRoot();
    if (!root) return;
    var body = root.querySelector("[data-cart-body]");
    body.textContent = "";
    setCount(cart);
    var subtotal = doc.querySelector("[data-cart-panel-subtotal]");
    if (subtotal) subtotal.textContent = cart.sellers.length ? money(cart.subtotal_cents, cart.currency) : "";
    var checkout = doc.querySelector("[data-cart-checkout]");
    if (checkout) {
      if (cart.can_checkout) checkout.removeAttribute("aria-disabled");
      else checkout.setAttribute("aria-disabled", "true");
    }
    if (!cart.sellers.length) {
      setStatus("Your cart is empty.");
      return;
    }
    setStatus("");
    cart.sellers.forEach(function (seller) {
      var section = el("section", "stack stack--sm");
      section.appendChild(el("h3", "card__title", seller.shop_name));
      var list = el("ul", "stack");
      list.setAttribute("role", "list");
      seller.lines.forEach(function (line) {
        list.appendChild(renderLine(line));
      });
      section.appendChild(list);
      section.appendChild(el("p", "text-sm text-muted", "Subtotal: " + money(seller.subtotal_cents, seller.currency)));
      body.appendChild(section);
    });
  }

  function load() {
    setStatus("Loading your cart…");
    return request("GET", API)
      .then(render)
      .catch(function (error) {
        setStatus(error.message);
      });
  }

  function setQuantity(variantId, quantity) {
    var path = API + "/items/" + encodeURIComponent(variantId);
    return request("PATCH", path, { quantity: quantity })
      .then(function (cart) {
        render(cart);
        if (window.ShopReel && window.ShopReel.announce) {
          window.ShopReel.announce(quantity === 0 ? "Removed from your cart." : "Quantity updated.");
        }
      })
      .catch(function (error) {
        load().then(function () {
          setStatus(error.message);
        });
      });
  }

  doc.addEventListener("panel:open", function (event) {
    if (event.target && event.target.id === "cart-panel") load();
  });

  doc.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-cart-set]") : null;
    if (!target || !panelRoot() || !panelRoot().contains(target)) return;
    event.preventDefault();
    var quantity = parseInt(target.getAttribute("data-cart-set"), 10);
    if (!(quantity >= 0)) return;
    target.disabled = true;
    setQuantity(target.getAttribute("data-variant-id"), quantity);
  });

  if (doc.querySelector("[data-cart-count]")) {
    request("GET", API)
      .then(setCount)
      .catch(function () {
        setCount(null);
      });
  }
})();
