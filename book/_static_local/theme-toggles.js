// dlbook: make the sidebar buttons in the article header work (loaded on every page,
// html_js_files in _config.yml).
//
// pydata-sphinx-theme 0.17 added its own primary/secondary sidebar toggles to the top navbar,
// and sphinx-book-theme 1.3 keeps its buttons in the article header; both themes attach their
// click handlers to document.querySelector(".primary-toggle") (and ".secondary-toggle"), i.e.
// to the FIRST such button only: the navbar one, which is hidden. The visible hamburger did
// nothing: on a phone the table of contents could not be opened at all (upstream
// pydata/pydata-sphinx-theme#2451). Here every later button forwards its click to the first,
// so the themes' own handlers run: collapse on a wide screen, a pop-up sidebar on a phone.
(function () {
  "use strict";
  function forward(selector) {
    var buttons = document.querySelectorAll(selector);
    Array.prototype.slice.call(buttons, 1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopImmediatePropagation();
        button.blur();
        buttons[0].click();
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    forward(".primary-toggle");
    forward(".secondary-toggle");
  });
})();
