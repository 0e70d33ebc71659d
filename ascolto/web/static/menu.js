// On a narrow screen the menu folds behind one button. Without JavaScript it stays open.
(function () {
  "use strict";
  var button = document.querySelector(".menu-toggle");
  var menu = document.getElementById("menu");
  if (!button || !menu) {
    return;
  }
  document.documentElement.classList.add("menu-folds");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  });
}());
