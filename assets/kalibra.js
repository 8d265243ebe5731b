// Kalibra's own small behaviours. No inline handlers: the CSP allows scripts from 'self'.
(function () {
  "use strict";
  // Copy a shown-once secret: <button data-copy="#id">.
  document.addEventListener("click", function (ev) {
    var sel = ev.target.getAttribute && ev.target.getAttribute("data-copy");
    if (!sel) { return; }
    var el = document.querySelector(sel);
    if (el && navigator.clipboard) { navigator.clipboard.writeText(el.textContent.trim()); }
  });
})();
