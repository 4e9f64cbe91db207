/* The demand board's "use my position" button: fills the filter's lat/lng from the browser and sorts by distance. */
(function () {
  "use strict";
  var button = document.getElementById("use-position"), form = document.getElementById("demand-filter");
  if (!button || !navigator.geolocation) { if (button) { button.hidden = true; } return; }
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (p) {
      form.elements.lat.value = p.coords.latitude.toFixed(5);
      form.elements.lng.value = p.coords.longitude.toFixed(5);
      if (!form.elements.sort.value || form.elements.sort.value === "new") { form.elements.sort.value = "near"; }
      form.submit();
    }, function () { button.disabled = false; button.classList.add("btn-outline-danger"); }, {timeout: 10000, maximumAge: 300000});
  });
})();
