#!/usr/bin/env bash
# Install the Debian packages the workbench needs, only those missing.
# As root it runs apt-get; otherwise it prints the one command to run and fails.
set -euo pipefail
PKGS="fluidsynth fluid-soundfont-gm festival festvox-kallpc16k espeak-ng libsndfile1 libportaudio2 jackd2 chromium sox stress-ng"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages:$missing" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks about realtime priority; answer no so the install never blocks.
echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
