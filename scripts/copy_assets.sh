#!/bin/sh
# Copy the npm front-end packages the pages use into xianfeng/static/vendor (served by whitenoise / runserver).
set -e
cd "$(dirname "$0")/.."
dest=xianfeng/static/vendor
rm -rf "$dest"
mkdir -p "$dest/bootstrap" "$dest/htmx" "$dest/bootstrap-icons"
cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map "$dest/bootstrap/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map "$dest/bootstrap/"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx/"
cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css "$dest/bootstrap-icons/"
cp -r node_modules/bootstrap-icons/font/fonts "$dest/bootstrap-icons/"
for extra in echarts/dist/echarts.min.js leaflet/dist/leaflet.js leaflet/dist/leaflet.css; do
  if [ -f "node_modules/$extra" ]; then mkdir -p "$dest/$(dirname "$extra" | cut -d/ -f1)"; cp "node_modules/$extra" "$dest/$(dirname "$extra" | cut -d/ -f1)/"; fi
done
