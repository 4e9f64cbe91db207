#!/usr/bin/env bash
# Update and compile the zh_Hans catalogues: the project's (xianfeng/locale) and each app's own (xianfeng/<app>/locale).
# Needs GNU gettext (Debian: gettext). Translate every empty or fuzzy entry before committing.
set -euo pipefail
cd "$(dirname "$0")/../xianfeng"
py=$(cd .. && pwd)/.venv/bin/python
manage=$(cd .. && pwd)/manage.py
apps=()
for d in */locale; do [ -d "$d" ] && apps+=("$(dirname "$d")"); done
ignores=(--ignore "*/locale/*")
for app in "${apps[@]}"; do ignores+=(--ignore "$app/*"); done
"$py" "$manage" makemessages -l zh_Hans --no-obsolete "${ignores[@]}"
(cd locale/.. && "$py" "$manage" compilemessages -l zh_Hans >/dev/null)
for app in "${apps[@]}"; do
  (cd "$app" && "$py" "$manage" makemessages -l zh_Hans --no-obsolete && "$py" "$manage" compilemessages -l zh_Hans >/dev/null)
done
printf 'locale: '; msgfmt --statistics -o /dev/null locale/zh_Hans/LC_MESSAGES/django.po
for app in "${apps[@]}"; do printf '%s: ' "$app"; msgfmt --statistics -o /dev/null "$app/locale/zh_Hans/LC_MESSAGES/django.po"; done
