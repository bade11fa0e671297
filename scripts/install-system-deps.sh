#!/usr/bin/env bash
# System packages the browser tests need: Chromium (Playwright drives /usr/bin/chromium, so no
# browser download from a CDN) and Noto CJK, without which Chinese pages render as tofu boxes and
# screenshots are useless. Idempotent: installs only what is missing, and only as root.
# Targets Debian (on Ubuntu the `chromium` package is a snap stub that does not work in containers).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'install ok installed'; then
    missing+=(fonts-noto-cjk)
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: chromium and fonts-noto-cjk already present, nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: WARNING: missing ${missing[*]}; not root, so not installing." >&2
    echo "system-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    echo "system-deps: browser tests (tests/e2e) will fail or skip without them." >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: WARNING: missing ${missing[*]} and no apt-get; install them by hand." >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Another apt may be running (an image build, unattended-upgrades): wait for its locks rather than
# failing. Lock::Timeout covers dpkg's lock; the retry loop covers the lists lock of `update`.
apt_opts=(-o DPkg::Lock::Timeout=600)

echo "system-deps: missing ${missing[*]}; running apt-get update"
for attempt in 1 2 3 4 5 6; do
    if apt-get "${apt_opts[@]}" update -q; then
        break
    fi
    if [ "$attempt" -eq 6 ]; then
        echo "system-deps: apt-get update kept failing" >&2
        exit 1
    fi
    echo "system-deps: apt-get update failed (lock held?), retrying in 20 s" >&2
    sleep 20
done

echo "system-deps: apt-get install -y chromium fonts-noto-cjk"
apt-get "${apt_opts[@]}" install -y -q chromium fonts-noto-cjk
echo "system-deps: installed ${missing[*]}"
