#!/usr/bin/env bash
# Installs the Debian packages kyb-pipeline needs (tesseract with English + Simplified Chinese
# data, TTF fonts (Latin + CJK) for the synthetic certificates, Redis, and Chromium for the
# reviewer console's browser test) when missing. Idempotent.
set -euo pipefail

missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
for lang in eng chi_sim; do
  pkg="tesseract-ocr-${lang//_/-}"
  if ! (command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx "$lang"); then
    missing+=("$pkg")
  fi
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
# Song (Ming) and Kai faces, as printed on real business licences
[ -f /usr/share/fonts/truetype/arphic/uming.ttc ] || missing+=(fonts-arphic-uming)
[ -f /usr/share/fonts/truetype/arphic/ukai.ttc ] || missing+=(fonts-arphic-ukai)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
