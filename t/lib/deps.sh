#!/bin/sh
# Installs what the build (with "test", the tests; with "bench", the tests
# and the benchmark's peers) need on Debian and says clearly what is
# missing elsewhere. Run by `make run`, `make test`, `make bench` and (with
# "fuzz": the build and clang, whose libFuzzer the fuzz targets link)
# `make fuzz`.
set -e
cd "$(dirname "$0")/../.."

build="gcc make pkg-config libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler
librdkafka-dev libsqlite3-dev libzstd-dev libcjson-dev libyaml-dev zlib1g-dev libxxhash-dev
libssl-dev libsnappy-dev"
# promtool and Prometheus (the Prometheus API's tests), chromium (the UI's,
# driven by puppeteer-core with no browser download)
tests="curl sqlite3 mandoc perl nghttp2-client python3 kcat openssl prometheus chromium"
# ClickHouse, the benchmark's peer (t/bench/compare.mjs starts its own);
# VictoriaMetrics, the metrics part's
bench="clickhouse-server clickhouse-client victoria-metrics"
want="$build"
[ "$1" = test ] && want="$build $tests"
[ "$1" = bench ] && want="$build $tests $bench"
[ "$1" = fuzz ] && want="$build clang"
if ! command -v node >/dev/null 2>&1 && { [ "$1" = test ] || [ "$1" = bench ]; }; then
	want="$want nodejs npm"
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system; make sure these (or your system's equivalents) are installed:" >&2
	echo "  $want" >&2
else
	missing=""
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "deps: installing$missing"
		if [ "$(id -u)" = 0 ]; then
			sudo=""
		elif command -v sudo >/dev/null 2>&1; then
			sudo="sudo"
		else
			echo "deps: missing$missing; install them as root" >&2
			exit 1
		fi
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
	fi
fi

if [ "$1" = test ] || [ "$1" = bench ]; then
	# the real OpenTelemetry JS SDK exporters the tests send with
	if [ ! -d t/otel/node_modules ] || [ t/otel/package-lock.json -nt t/otel/node_modules ]; then
		echo "deps: npm ci in t/otel"
		(cd t/otel && npm ci --no-audit --no-fund --loglevel=error) && touch t/otel/node_modules
	fi
fi
