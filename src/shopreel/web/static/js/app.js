/*
 * ShopReel app.js: small, hand-written progressive enhancement.
 *
 * Every page works without this file. It is loaded once from base.html with
 * <script src defer nonce>, uses no inline handlers, and never writes inline
 * styles (the CSP forbids them): state lives in classes and attributes.
 *
 * Hooks (see docs/design-system.md):
 *   .alert[data-dismissible]     reveal the close button, dismiss on click
 *   .alert[data-autodismiss]     remove after 8 s (or the attribute's ms value),
 *                                paused while hovered or focused
 *   [data-copy-target="#sel"]    copy the target's value/text to the clipboard
 *   input[data-password-toggle]  add a Show/Hide password button
 *   form[data-confirm="msg"]     window.confirm() before submitting (also on a
 *                                submit button, for per-button messages)
 *   form[method=post]            disable submit buttons while posting; undone
 *                                on pageshow (back/forward cache). Opt out with
 *                                data-no-disable.
 *   [data-panel-open="id"]       open a slide-over/modal (focus trap, Escape,
 *   [data-panel-close]           inert background, focus restored on close)
 *   details[data-menu]           close on outside click and Escape
 *   [data-autofocus]             focus on load (e.g. the form error summary)
 *
 * Public API for later pages: window.ShopReel = { flash, announce, openPanel,
 * closePanel, prefersReducedMotion }.
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  var AUTODISMISS_MS = 8000;
  var FOCUSABLE = [
    "a[href]",
    "area[href]",
    "button:not([disabled])",
    "input:not([disabled]):not([type='hidden'])",
    "select:not([disabled])",
    "textarea:not([disabled])",
    "iframe",
    "audio[controls]",
    "video[controls]",
    "summary",
    "[contenteditable='true']",
    "[tabindex]:not([tabindex='-1'])"
  ].join(",");

  root.classList.remove("no-js");
  root.classList.add("js");

  function prefersReducedMotion() {
    return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  function toArray(list) {
    return Array.prototype.slice.call(list);
  }

  function isVisible(el) {
    return !el.hidden && el.getClientRects().length > 0;
  }

  /* Screen-reader announcements ---------------------------------------- */
  function announce(message) {
    var region = doc.getElementById("sr-announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 60);
  }

  /* Alerts & flash messages -------------------------------------------- */
  function dismissAlert(alertEl) {
    if (!alertEl || alertEl.classList.contains("is-leaving")) return;
    var hadFocus = alertEl.contains(doc.activeElement);
    window.clearTimeout(alertEl._srTimer);
    alertEl.classList.add("is-leaving");
    window.setTimeout(function () {
      if (alertEl.parentNode) alertEl.parentNode.removeChild(alertEl);
      if (hadFocus) {
        var main = doc.getElementById("main");
        if (main) main.focus();
      }
    }, prefersReducedMotion() ? 0 : 220);
  }

  function scheduleDismiss(alertEl) {
    window.clearTimeout(alertEl._srTimer);
    var ms = parseInt(alertEl.getAttribute("data-autodismiss"), 10);
    if (!(ms > 0)) ms = AUTODISMISS_MS;
    alertEl._srTimer = window.setTimeout(function () {
      dismissAlert(alertEl);
    }, ms);
  }

  function initAlert(alertEl) {
    if (alertEl._srReady) return;
    alertEl._srReady = true;
    if (alertEl.hasAttribute("data-dismissible")) {
      toArray(alertEl.querySelectorAll("[data-dismiss]")).forEach(function (btn) {
        btn.hidden = false;
      });
    }
    if (alertEl.hasAttribute("data-autodismiss")) {
      var pause = function () {
        window.clearTimeout(alertEl._srTimer);
      };
      var resume = function () {
        if (!alertEl.matches(":hover") && !alertEl.contains(doc.activeElement)) {
          scheduleDismiss(alertEl);
        }
      };
      alertEl.addEventListener("mouseenter", pause);
      alertEl.addEventListener("focusin", pause);
      alertEl.addEventListener("mouseleave", resume);
      alertEl.addEventListener("focusout", function () {
        window.setTimeout(resume, 0);
      });
      scheduleDismiss(alertEl);
    }
  }

  function initAlerts(scope) {
    toArray(scope.querySelectorAll(".alert[data-dismissible], .alert[data-autodismiss]")).forEach(initAlert);
  }

  var CATEGORY_ALIASES = {
    danger: "error",
    err: "error",
    critical: "error",
    warn: "warning",
    ok: "success",
    message: "info",
    notice: "info"
  };

  /* Show a flash message from JS, using the server-rendered <template>s. */
  function flash(message, category) {
    var cat = String(category || "info").toLowerCase();
    cat = CATEGORY_ALIASES[cat] || cat;
    if (["info", "success", "warning", "error"].indexOf(cat) === -1) cat = "info";
    var region = doc.getElementById("flash-region");
    var tpl = doc.querySelector('template[data-flash-template="' + cat + '"]');
    if (!region || !tpl || !tpl.content) {
      announce(message);
      return null;
    }
    var node = tpl.content.firstElementChild.cloneNode(true);
    var text = node.querySelector("[data-alert-text]");
    if (text) text.textContent = message;
    if (cat === "info" || cat === "success") node.setAttribute("data-autodismiss", "");
    region.appendChild(node);
    initAlert(node);
    return node;
  }

  /* Copy to clipboard -------------------------------------------------- */
  function legacyCopy(target, text) {
    var ok = false;
    try {
      if (typeof target.select === "function") {
        target.focus();
        target.select();
        ok = doc.execCommand("copy");
      } else {
        var area = doc.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.className = "visually-hidden";
        doc.body.appendChild(area);
        area.select();
        ok = doc.execCommand("copy");
        doc.body.removeChild(area);
      }
    } catch (e) {
      ok = false;
    }
    return ok;
  }

  function copyFeedback(btn, ok, target) {
    var label = btn.querySelector(".btn__label");
    if (ok) {
      if (label) {
        if (!btn._srLabel) btn._srLabel = label.textContent;
        label.textContent = "Copied";
        window.clearTimeout(btn._srCopyTimer);
        btn._srCopyTimer = window.setTimeout(function () {
          label.textContent = btn._srLabel;
        }, 2000);
      }
      announce("Copied to clipboard");
    } else {
      if (typeof target.select === "function") {
        target.focus();
        target.select();
      }
      announce("Could not copy automatically. The text is selected: press Control+C or Command+C to copy it.");
    }
  }

  function copyFrom(btn) {
    var selector = btn.getAttribute("data-copy-target");
    var target = null;
    try {
      target = doc.querySelector(selector);
    } catch (e) {
      target = null;
    }
    if (!target) return;
    var text = typeof target.value === "string" ? target.value : target.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          copyFeedback(btn, true, target);
        },
        function () {
          copyFeedback(btn, legacyCopy(target, text), target);
        }
      );
    } else {
      copyFeedback(btn, legacyCopy(target, text), target);
    }
  }

  function initCopyButtons(scope) {
    toArray(scope.querySelectorAll("[data-copy-target]")).forEach(function (btn) {
      btn.hidden = false;
    });
  }

  /* Password show/hide ------------------------------------------------- */
  function setPasswordVisible(input, btn, visible) {
    input.type = visible ? "text" : "password";
    var label = btn.querySelector("[data-toggle-label]");
    if (label) label.textContent = visible ? "Hide" : "Show";
  }

  function initPasswordToggles(scope) {
    toArray(scope.querySelectorAll("input[data-password-toggle]")).forEach(function (input) {
      if (input._srToggle || !input.id || !input.parentNode) return;
      var btn = doc.createElement("button");
      btn.type = "button";
      btn.className = "btn btn--ghost btn--sm field__toggle";
      btn.setAttribute("aria-controls", input.id);
      var visibleText = doc.createElement("span");
      visibleText.setAttribute("data-toggle-label", "");
      visibleText.textContent = "Show";
      var srText = doc.createElement("span");
      srText.className = "visually-hidden";
      srText.textContent = " password";
      btn.appendChild(visibleText);
      btn.appendChild(srText);
      btn.addEventListener("click", function () {
        setPasswordVisible(input, btn, input.type === "password");
      });
      input.parentNode.insertBefore(btn, input.nextSibling);
      input.parentNode.classList.add("field__control--with-toggle");
      input._srToggle = btn;
    });
  }

  /* Confirm + double-submit protection --------------------------------- */
  function submitButtons(form) {
    return toArray(form.elements).filter(function (el) {
      return (el.tagName === "BUTTON" || el.tagName === "INPUT") && el.type === "submit";
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;

    if (form.getAttribute("data-submitting") === "true") {
      event.preventDefault();
      return;
    }

    var submitter = event.submitter || null;
    var message =
      (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }

    // Never leave a revealed password as a text field in the form history.
    toArray(form.querySelectorAll("input[data-password-toggle]")).forEach(function (input) {
      if (input._srToggle && input.type === "text") setPasswordVisible(input, input._srToggle, false);
    });

    var method = (form.getAttribute("method") || "get").toLowerCase();
    var target = form.getAttribute("target");
    if (method !== "post" || form.hasAttribute("data-no-disable") || (target && target !== "_self")) {
      return;
    }

    form.setAttribute("data-submitting", "true");
    form.setAttribute("aria-busy", "true");
    // Disable after the browser has built the form data set, so the
    // submitter's own name/value is still sent.
    window.setTimeout(function () {
      submitButtons(form).forEach(function (btn) {
        if (!btn.disabled) {
          btn.disabled = true;
          btn.setAttribute("data-js-disabled", "");
        }
      });
      if (submitter) submitter.classList.add("is-loading");
    }, 0);
  }

  function resetSubmittingForms() {
    toArray(doc.querySelectorAll("form[data-submitting]")).forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.removeAttribute("aria-busy");
    });
    toArray(doc.querySelectorAll("[data-js-disabled]")).forEach(function (btn) {
      btn.disabled = false;
      btn.removeAttribute("data-js-disabled");
    });
    toArray(doc.querySelectorAll(".is-loading")).forEach(function (btn) {
      btn.classList.remove("is-loading");
    });
  }

  /* Slide-over / modal panels ------------------------------------------ */
  var openPanels = [];
  var inertByUs = [];

  function resolvePanel(panelOrId) {
    if (!panelOrId) return null;
    if (typeof panelOrId === "string") return doc.getElementById(panelOrId);
    return panelOrId;
  }

  function applyInert() {
    inertByUs.forEach(function (el) {
      el.inert = false;
      el.removeAttribute("inert");
    });
    inertByUs = [];
    var top = openPanels[openPanels.length - 1];
    if (!top) return;
    toArray(doc.body.children).forEach(function (el) {
      if (el === top || el.tagName === "SCRIPT" || el.tagName === "TEMPLATE") return;
      if (el.id === "sr-announcer") return;
      if (!el.hasAttribute("inert")) {
        el.inert = true;
        el.setAttribute("inert", "");
        inertByUs.push(el);
      }
    });
  }

  function syncTriggers(panel, expanded) {
    toArray(doc.querySelectorAll('[data-panel-open="' + panel.id + '"]')).forEach(function (t) {
      t.setAttribute("aria-expanded", expanded ? "true" : "false");
    });
  }

  function openPanel(panelOrId, trigger) {
    var panel = resolvePanel(panelOrId);
    if (!panel || openPanels.indexOf(panel) !== -1) return;
    if (panel.parentNode !== doc.body) doc.body.appendChild(panel);
    panel._srReturnFocus = trigger || doc.activeElement;
    window.clearTimeout(panel._srHideTimer);
    panel.hidden = false;
    void panel.offsetWidth; // start the enter transition from the hidden state
    panel.classList.add("is-open");
    openPanels.push(panel);
    applyInert();
    root.classList.add("has-panel-open");
    syncTriggers(panel, true);
    var surface = panel.querySelector(".panel__surface") || panel;
    var initial = panel.querySelector("[data-panel-initial-focus]") || surface;
    initial.focus();
    panel.dispatchEvent(new CustomEvent("panel:open", { bubbles: true, detail: { trigger: trigger || null } }));
  }

  function closePanel(panelOrId) {
    var panel = resolvePanel(panelOrId);
    var index = openPanels.indexOf(panel);
    if (!panel || index === -1) return;
    openPanels.splice(index, 1);
    panel.classList.remove("is-open");
    panel._srHideTimer = window.setTimeout(function () {
      if (!panel.classList.contains("is-open")) panel.hidden = true;
    }, prefersReducedMotion() ? 0 : 340);
    applyInert();
    if (!openPanels.length) root.classList.remove("has-panel-open");
    syncTriggers(panel, false);
    var back = panel._srReturnFocus;
    panel._srReturnFocus = null;
    if (back && doc.contains(back) && typeof back.focus === "function") back.focus();
    panel.dispatchEvent(new CustomEvent("panel:close", { bubbles: true }));
  }

  function trapFocus(event, panel) {
    var surface = panel.querySelector(".panel__surface") || panel;
    var items = toArray(surface.querySelectorAll(FOCUSABLE)).filter(isVisible);
    if (!items.length) {
      event.preventDefault();
      surface.focus();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    var active = doc.activeElement;
    if (!surface.contains(active)) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    } else if (event.shiftKey && (active === first || active === surface)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function initPanelTriggers(scope) {
    toArray(scope.querySelectorAll("[data-panel-open]")).forEach(function (t) {
      var id = t.getAttribute("data-panel-open");
      if (!doc.getElementById(id)) return;
      t.setAttribute("aria-controls", id);
      t.setAttribute("aria-haspopup", "dialog");
      t.setAttribute("aria-expanded", "false");
    });
  }

  /* Disclosure menus (<details data-menu>) ----------------------------- */
  function closeMenus(except) {
    toArray(doc.querySelectorAll("details[data-menu][open]")).forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  /* Global listeners ---------------------------------------------------- */
  doc.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target : null;
    if (!el) return;

    var opener = el.closest("[data-panel-open]");
    if (opener) {
      var panel = doc.getElementById(opener.getAttribute("data-panel-open"));
      if (panel) {
        event.preventDefault();
        openPanel(panel, opener);
        return;
      }
    }

    var closer = el.closest("[data-panel-close]");
    if (closer) {
      var owner = closer.closest("[data-panel]");
      if (owner) {
        event.preventDefault();
        closePanel(owner);
        return;
      }
    }

    var dismiss = el.closest("[data-dismiss]");
    if (dismiss) {
      dismissAlert(dismiss.closest(".alert"));
      return;
    }

    var copy = el.closest("[data-copy-target]");
    if (copy) {
      event.preventDefault();
      copyFrom(copy);
    }

    closeMenus(el.closest("details[data-menu]"));
  });

  doc.addEventListener("keydown", function (event) {
    var top = openPanels[openPanels.length - 1];
    if (top) {
      if (event.key === "Escape") {
        event.preventDefault();
        closePanel(top);
      } else if (event.key === "Tab") {
        trapFocus(event, top);
      }
      return;
    }
    if (event.key === "Escape") {
      var menu = doc.querySelector("details[data-menu][open]");
      if (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      }
    }
  });

  // Close a disclosure menu when keyboard focus leaves it.
  doc.addEventListener("focusin", function (event) {
    var el = event.target instanceof Element ? event.target : null;
    closeMenus(el ? el.closest("details[data-menu]") : null);
  });

  doc.addEventListener("submit", onSubmit);

  window.addEventListener("pageshow", function () {
    resetSubmittingForms();
  });

  /* Init ---------------------------------------------------------------- */
  function enhance(scope) {
    scope = scope || doc;
    initAlerts(scope);
    initCopyButtons(scope);
    initPasswordToggles(scope);
    initPanelTriggers(scope);
  }

  function init() {
    enhance(doc);
    var auto = doc.querySelector("[data-autofocus]");
    if (auto && typeof auto.focus === "function") auto.focus();
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  window.ShopReel = {
    flash: flash,
    announce: announce,
    openPanel: openPanel,
    closePanel: closePanel,
    enhance: enhance,
    prefersReducedMotion: prefersReducedMotion
  };
})();
