#!/usr/bin/env bash
# Screenshots of built book pages in headless Chromium with the network switched off, at
# desktop width (1280 px) and phone width (400 px).
#
#   tools/screenshot.sh [PAGE ...]      PAGE relative to _build/html, e.g. book/intro
#                                       (default: every page in _build/html/book/)
#
# Writes _build/screenshots/<page>-1280.png and <page>-400.png, plus <page>.log with the
# browser console (a request that tried the network shows as ERR_PROXY_CONNECTION_FAILED),
# and prints per page how many equations MathJax rendered and how many widgets were drawn.
# Needs Debian's chromium (`apt-get install -y chromium`); CHROMIUM=/path overrides it.
# SHOT_HEIGHT (default 2400) sets the window height, i.e. how much of a page is captured.
set -euo pipefail
cd "$(dirname "$0")/.."

html=_build/html
out=_build/screenshots
chromium=${CHROMIUM:-/usr/bin/chromium}
height=${SHOT_HEIGHT:-2400}
[ -x "$chromium" ] || { echo "screenshot.sh: no $chromium (apt-get install -y chromium)" >&2; exit 2; }
[ -f "$html/index.html" ] || { echo "screenshot.sh: no built book (make book)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  pages=("$@")
else
  mapfile -t pages < <(cd "$html" && find book -name '*.html' | sed 's/\.html$//' | sort)
fi
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# Networking off: every http(s) request goes to a proxy on a closed port and every host name
# fails to resolve; file:// pages load normally. The other flags stop Chromium's own
# background traffic (updates, sync, field trials) and run it as root in a container.
browser() {
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' \
    --host-resolver-rules='MAP * ~NOTFOUND' \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --no-first-run --no-default-browser-check \
    --user-data-dir="$profile" --virtual-time-budget=15000 "$@"
}

count() { { grep -oE "$1" || true; } | wc -l; }

for page in "${pages[@]}"; do
  page=${page%.html}
  file="$PWD/$html/$page.html"
  [ -f "$file" ] || { echo "screenshot.sh: no $html/$page.html" >&2; exit 2; }
  name=$(basename "$page")
  for width in 1280 400; do
    browser --window-size="$width,$height" --screenshot="$PWD/$out/$name-$width.png" \
      "file://$file" >/dev/null 2>&1
  done
  dom=$(browser --enable-logging=stderr --v=0 --dump-dom "file://$file" 2>"$out/$name.log")
  maths=$(count '<mjx-container' <<<"$dom")
  widgets=$(count 'class="[^"]*widget-(slider|hprogress|vprogress|button|dropdown|text|label|checkbox|box|hbox|vbox)\b' <<<"$dom")
  blocked=$(grep -c 'ERR_PROXY_CONNECTION_FAILED\|ERR_NAME_NOT_RESOLVED' "$out/$name.log" || true)
  echo "$page: $maths equations rendered, $widgets widget elements, $blocked network requests blocked -> $out/$name-{1280,400}.png"
done
