#!/bin/sh
# The tests drive real Debian programs, never downloaded builds: chromium (browser tests), the sqlite3
# shell (an outside client beside a running server), bubblewrap (the function sandbox) and curl (the
# README's walk, test/docs/readme.test.ts). Installs
# whichever is missing.
set -e
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != "0" ]; then
  echo "The tests need Debian's$missing: sudo apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi
echo "Installing Debian's$missing for the tests..." >&2
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
