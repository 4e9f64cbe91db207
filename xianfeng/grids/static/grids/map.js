/* Grid maps with Leaflet. Works with no tile server (a blank background with the polygons and points).
   #xf-pick-map: click to choose a point; fills the form's latitude/longitude inputs.
   #xf-grid-map: shows the GeoJSON at data-url (grid polygons, case points with links). */
(function () {
  "use strict";
  function baseMap(el) {
    var center = JSON.parse(el.dataset.center || "[30.526, 120.942]");
    var map = L.map(el, {zoomControl: true}).setView(center, parseInt(el.dataset.zoom || "15", 10));
    if (el.dataset.tile) {
      L.tileLayer(el.dataset.tile, {maxZoom: 19, attribution: el.dataset.attribution || ""}).addTo(map);
    }
    return map;
  }
  function noLeaflet(el) {
    el.textContent = el.dataset.missing || "Map unavailable";
    el.classList.add("xf-map-missing");
  }
  function pickMap(el) {
    var form = el.closest("form");
    var lat = form.querySelector("[name=latitude]");
    var lng = form.querySelector("[name=longitude]");
    var map = baseMap(el);
    var marker = null;
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); } else {
        marker = L.circleMarker(latlng, {radius: 9, color: "#b71c1c", fillOpacity: 0.8}).addTo(map);
      }
      lat.value = latlng.lat.toFixed(6);
      lng.value = latlng.lng.toFixed(6);
      var shown = document.getElementById("xf-picked");
      if (shown) { shown.textContent = lat.value + ", " + lng.value; }
      lat.dispatchEvent(new Event("change", {bubbles: true}));
    }
    if (lat.value && lng.value) { place(L.latLng(parseFloat(lat.value), parseFloat(lng.value))); }
    map.on("click", function (e) { place(e.latlng); });
    if (el.dataset.grids) {
      fetch(el.dataset.grids, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          L.geoJSON(data, {filter: function (f) { return f.properties.kind === "grid"; },
                           style: {color: "#1565c0", weight: 1, fillOpacity: 0.05}, interactive: false}).addTo(map);
        });
    }
  }
  function gridMap(el) {
    var map = baseMap(el);
    fetch(el.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function () { return {color: "#1565c0", weight: 1, fillOpacity: 0.08}; },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, {radius: 6, color: f.properties.overdue ? "#b71c1c" : "#ef6c00", fillOpacity: 0.9});
        },
        onEachFeature: function (f, l) {
          var a = document.createElement("a");
          a.href = f.properties.url;
          a.textContent = f.properties.name;
          l.bindPopup(a);
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds); }
      el.dataset.features = String(data.features.length);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var pick = document.getElementById("xf-pick-map");
    var board = document.getElementById("xf-grid-map");
    [pick, board].forEach(function (el) {
      if (!el) { return; }
      if (typeof L === "undefined") { noLeaflet(el); return; }
      if (el === pick) { pickMap(el); } else { gridMap(el); }
    });
  });
})();
