// duban console: the case page's countdowns (剩余时间), ticking once a second. Each element
// with data-due (an ISO instant) shows the time left; the server renders the same text, so the
// page reads the same without scripts. No eval, no inline code (the CSP allows neither).
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.getAttribute("data-due")) - now) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-passed");
        el.classList.remove("badge-due");
        el.classList.add("badge-overdue");
        return;
      }
      var days = Math.floor(left / 86400);
      var rest = left % 86400;
      el.textContent = el.getAttribute("data-remaining") + " " + days + el.getAttribute("data-day") + " " +
        pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    });
  }
  setInterval(tick, 1000);
})();
