// Retour's only script besides htmx (no inline script: CSP): send the CSRF token with every htmx request, and keep
// keyboard focus in a list of quotes after curating one.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
});

// After a quote is curated (htmx swaps its whole list), keyboard focus goes back into the list where it was: it fell
// to the page, and the next Tab jumped past every quote. A field htmx focused itself (autofocus) keeps the focus.
var curated = null;
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail.elt;
  var item = elt && elt.closest ? elt.closest("li.quote") : null;
  var list = item ? item.closest("#evidence, #suggestions") : null;
  curated = list && elt.tagName === "FORM"
    ? { list: list.id, index: Array.prototype.indexOf.call(list.querySelectorAll("li.quote"), item) } : null;
});
document.addEventListener("htmx:afterSettle", function () {
  var wanted = curated;
  curated = null;
  var active = document.activeElement;
  if (!wanted || (active && active !== document.body && document.contains(active))) { return; }
  var list = document.getElementById(wanted.list);
  var items = list ? list.querySelectorAll("li.quote") : [];
  var item = items.length ? items[Math.min(wanted.index, items.length - 1)] : null;
  var target = item ? item.querySelector("button") : null;
  if (!target) {  // the list emptied (the last suggestion answered): its message, else the evidence
    target = (list && list.querySelector(".flash")) || document.querySelector("#evidence .flash, #h-evidence");
    if (target) { target.setAttribute("tabindex", "-1"); }
  }
  if (target) { target.focus(); }
});

// A split reviewed quote by quote: the bar under the lists says how many quotes are ticked to move, as they change.
document.addEventListener("change", function (event) {
  var box = event.target;
  var out = document.getElementById("split-count");
  if (!out || !box || box.name !== "move") { return; }
  var n = document.querySelectorAll('input[name="move"][form="split-form"]:checked').length;
  var said = n === 0 ? out.dataset.zero : n === 1 ? out.dataset.one : out.dataset.other;
  out.textContent = said.replace("{n}", String(n));
});
