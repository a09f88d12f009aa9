// The Saltmarsh Courier: small page behaviours.
(function () {
  "use strict";

  function setupComments() {
    var section = document.getElementById("comments");
    if (!section) return;
    var button = section.querySelector(".comments-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var collapsed = section.classList.toggle("collapsed");
      button.textContent = collapsed ? "Show" : "Hide";
      button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    });
  }

  function setupShare() {
    var links = document.querySelectorAll(".share-link");
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var url = document.querySelector('link[rel="canonical"]');
        var text = url ? url.getAttribute("href") : window.location.href;
        if (navigator.clipboard) {
          navigator.clipboard.writeText(text).then(function () {
            link.textContent = "Link copied";
          });
        } else {
          window.prompt("Copy this link:", text);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupComments();
    setupShare();
  });
})();
