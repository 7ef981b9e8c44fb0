// Offline loader for the ipywidgets snapshots in the built book (dlbook).
//
// _config.yml loads, on pages that hold widget state: require.js, then this file, then
// html-manager/embed-amd.js, all from the book's own _static folder. This file:
//  1. tells RequireJS that the @jupyter-widgets/* modules live in _static/html-manager/, so
//     that the widget manager finds its icon fonts there (by default it asks for them next
//     to the page, and they 404);
//  2. points the manager's "CDN" for unknown widget modules at the same local folder, so a
//     missing module fails locally instead of being fetched from cdn.jsdelivr.net;
//  3. gives MathJax 3 the MathJax 2 call `MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])`
//     that the widget manager uses to typeset labels (upstream ipywidgets issue #3829;
//     without it widget rendering stops with "Cannot read properties of undefined
//     (reading 'Queue')").
(function () {
  "use strict";
  var script = document.currentScript;
  var staticUrl = script.src.slice(0, script.src.lastIndexOf("/") + 1);
  var managerUrl = staticUrl + "html-manager/";

  // 1. Module locations: each module's URL decides where its fonts are looked for.
  var names = ["base", "base7", "controls", "controls7", "html-manager"];
  var paths = { "@jupyter-widgets/html-manager/dist": managerUrl.slice(0, -1) };
  names.forEach(function (name) {
    paths["@jupyter-widgets/" + name] = managerUrl + name;
  });
  window.require.config({ paths: paths });
  window.__jupyter_widgets_assets_path__ = managerUrl;

  // 2. Fallback for modules the bundle does not contain: local, never the network.
  script.setAttribute("data-jupyter-widgets-cdn", managerUrl);

  // 3. MathJax 2's Hub.Queue on top of MathJax 3. MathJax 3 replaces window.MathJax when it
  //    loads, so the shim is (re)attached when the page is parsed and when it has loaded.
  //    Jupyter's MathJax takes $...$ as inline maths in widget labels; the book's MathJax 3
  //    knows only \(...\) (MyST already converted the prose), so labels are rewritten first.
  function typeset(element) {
    var mj = window.MathJax;
    if (!element || !mj || !mj.startup || !mj.startup.promise) {
      return;
    }
    if (element.children.length === 0) {
      element.textContent = element.textContent.replace(/\$([^$]+)\$/g, "\\($1\\)");
    }
    mj.startup.promise
      .then(function () {
        return mj.typesetPromise([element]);
      })
      .catch(function (err) {
        console.error("MathJax typeset of a widget failed:", err);
      });
  }
  function queue() {
    Array.prototype.forEach.call(arguments, function (cmd) {
      if (typeof cmd === "function") {
        cmd();
      } else if (Array.isArray(cmd) && cmd[0] === "Typeset") {
        typeset(cmd[2]);
      }
    });
  }
  function attachHub() {
    if (window.MathJax && !window.MathJax.Hub) {
      window.MathJax.Hub = { Queue: queue };
    }
  }
  attachHub();
  document.addEventListener("DOMContentLoaded", attachHub);
  window.addEventListener("load", attachHub);
})();
