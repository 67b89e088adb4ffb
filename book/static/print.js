// On paper a display equation cannot scroll: one wider than the page is shrunk to fit it while the
// page is printed (or shown as print), and given back its size afterwards. MathJax's equations
// do not break lines, so this is the only way not to cut one off.
(function () {
  var print = window.matchMedia("print");
  function fit() {
    var equations = document.querySelectorAll('mjx-container[jax="CHTML"][display="true"]');
    for (var i = 0; i < equations.length; i++) {
      var eq = equations[i];
      eq.style.zoom = "";
      if (print.matches && eq.scrollWidth > eq.clientWidth + 1) {
        eq.style.zoom = String(Math.floor(1000 * eq.clientWidth / eq.scrollWidth) / 1000);
      }
    }
  }
  if (print.addEventListener) print.addEventListener("change", fit);
  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
})();
