#!/bin/sh
# Builds logitlab and runs every test. The reference data in ../shared
# (next to this checkout) is required: tests that need it never skip.
#   scripts/test.sh [build-dir] [extra cmake args...]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -d ../shared/vectors ] || [ ! -d ../shared/models ]; then
  echo "error: ../shared (reference vectors and models) is missing next to this checkout" >&2
  exit 1
fi
# logitlab serve and its tests (tests/serve) need libmicrohttpd, jansson and
# pkg-config to build, node and npm to run the official openai client, haproxy
# for the deploy test; `logitlab conform` needs libcurl, the playground's
# browser test Debian's chromium (driven by puppeteer-core, no download):
# install what is missing (Debian packages), then the client itself.
missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if command -v pkg-config >/dev/null 2>&1; then
  pkg-config --exists libmicrohttpd || missing="$missing libmicrohttpd-dev"
  pkg-config --exists jansson || missing="$missing libjansson-dev"
  pkg-config --exists libcurl || missing="$missing libcurl4-openssl-dev"
else
  missing="$missing libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev"
fi
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# tests/test_deploy.sh runs deploy/haproxy.cfg
{ command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null 2>&1 || missing="$missing haproxy"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing:$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
fi
if [ ! -f tests/serve/node_modules/openai/package.json ] || [ ! -f tests/serve/node_modules/puppeteer-core/package.json ]; then
  (cd tests/serve && npm ci --no-audit --no-fund)
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOGITLAB_REQUIRE_SERVE=ON "$@"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
