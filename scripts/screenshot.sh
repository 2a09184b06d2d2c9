#!/usr/bin/env bash
# Takes a screenshot of the studio window under Xvfb while a chain is being
# drawn: start the binary, press Ctrl+Enter, wait a moment, capture.
# Usage: scripts/screenshot.sh OUT.png [seconds-after-generate]
set -euo pipefail
out=${1:-docs/screenshot.png}
wait_s=${2:-4}
bin=${BIN:-./ddpmstudio}
home=$(mktemp -d)
app=
# Xvfb picks a free display itself and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp 3>"$home/display" & xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
for _ in $(seq 1 60); do [ -s "$home/display" ] && break; sleep 0.5; done
disp=:$(tr -d '\n' <"$home/display")
DISPLAY=$disp HOME=$home $bin & app=$!
for _ in $(seq 1 120); do
  DISPLAY=$disp xdotool search --name "DDPM Studio" >/dev/null 2>&1 && break
  sleep 0.5
done
sleep 2
DISPLAY=$disp xdotool mousemove 640 400 key ctrl+Return
sleep "$wait_s"
DISPLAY=$disp import -window root -crop 1280x820+0+0 +repage "$out"
echo "wrote $out"
