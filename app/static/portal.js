// Quick exit for the youth pages. The "Leave now" link works without this script (GET /exit ends
// the session and redirects); with it, the page is replaced at once so Back does not return here,
// and pressing Escape three times does the same.
(function () {
  "use strict";
  // The Esc hint shows only where this script runs (see .keyboard-only in portal.css).
  document.documentElement.classList.add("js");
  // "I have it, hide the code": leave without a history entry, so Back does not show the code again.
  var replacing = document.querySelectorAll("a[data-replace]");
  for (var i = 0; i < replacing.length; i++) {
    replacing[i].addEventListener("click", function (event) {
      event.preventDefault();
      window.location.replace(this.getAttribute("href"));
    });
  }
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  var target = link.getAttribute("data-exit-url") || "/exit";
  var leaving = false;

  function leave(event) {
    if (event) { event.preventDefault(); }
    if (leaving) { return; }
    leaving = true;
    try {
      navigator.sendBeacon("/exit");
    } catch (e) {
      // Without a beacon the session still ends at the idle timeout; leaving matters more.
    }
    document.title = "";
    document.body.textContent = "";
    window.location.replace(target);
  }

  link.addEventListener("click", leave);
  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    if (presses.length >= 3) { leave(event); }
  });
})();
