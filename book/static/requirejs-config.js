// Where require.js finds the widget modules: in this book's own _static/vendor/, never a CDN.
// Loaded after require.js and before the html-manager (see nb_ipywidgets_js in _config.yml).
// The base URL comes from this script's own address, so it is right at any page depth.
(function () {
  var script = document.currentScript;
  var base = script.src.replace(/[^/]*$/, "") + "vendor/";
  require.config({
    paths: {
      anywidget: base + "anywidget/index",
      "@jupyter-widgets/html-manager/dist": base + "html-manager",
    },
  });
})();
