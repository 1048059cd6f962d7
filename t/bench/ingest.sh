#!/bin/sh
# make bench: OTLP/HTTP ingest throughput and acknowledgement latency of
# ./openwit on this machine, measured with h2load (nghttp2-client) over
# HTTP/1.1 on loopback. Light load: one connection, one request at a time.
# Heavy load: 64 connections. Each request is an OTLP/JSON logs request of
# 10 records. Latency percentiles come from h2load's per-request log;
# fsyncs/s from the server's /metrics.
set -eu
cd "$(dirname "$0")/../.."
BIN=${OPENWIT_BIN:-./openwit}
N_LIGHT=${N_LIGHT:-5000}
N_HEAVY=${N_HEAVY:-100000}
dir=$(mktemp -d /tmp/openwit-bench-XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$(port) C=$(port) L=$(port)
cat > "$dir/openwit.yaml" <<CONF
storage.data_dir: "$dir/data"
ingestion.http.otlp_port: $P
ingestion.http.port: $L
control.port: $C
log.level: warn
CONF
$BIN -c "$dir/openwit.yaml" 2>"$dir/log" &
pid=$!
for i in $(seq 100); do curl -sf "127.0.0.1:$C/ready" >/dev/null 2>&1 && break; sleep 0.05; done

recs='{"timeUnixNano":"1700000000000000000","severityNumber":9,"body":{"stringValue":"GET /api/v1/items 200 12ms user=42 trace=5b8efff798038103"},"attributes":[{"key":"http.status_code","value":{"intValue":"200"}}]}'
body="{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"bench\"}}]},\"scopeLogs\":[{\"logRecords\":[$recs"
for i in 2 3 4 5 6 7 8 9 10; do body="$body,$recs"; done
printf '%s]}]}]}' "$body" > "$dir/body.json"

metric() { curl -s "127.0.0.1:$C/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

run() {
	name=$1 n=$2 c=$3
	f0=$(metric openwit_wal_fsyncs_total)
	h2load --h1 -n "$n" -c "$c" -m 1 -d "$dir/body.json" -H 'Content-Type: application/json' \
		--log-file "$dir/$name.log" "http://127.0.0.1:$P/v1/logs" > "$dir/$name.out"
	f1=$(metric openwit_wal_fsyncs_total)
	secs=$(awk '/finished in/ { v = $3; sub(/,/, "", v); if (v ~ /ms$/) { sub(/ms/, "", v); v /= 1000 } else sub(/s$/, "", v); print v }' "$dir/$name.out")
	ok=$(awk '/^status codes/ { print $3 }' "$dir/$name.out")
	sort -n -k3 "$dir/$name.log" | awk -v n="$n" -v name="$name" -v c="$c" -v secs="$secs" \
		-v ok="$ok" -v fs="$((f1 - f0))" '
		{ lat[NR] = $3 }
		END {
			p50 = lat[int(NR * 0.50)]; p99 = lat[int(NR * 0.99)]
			printf "%-6s c=%-3d %7d req  %8.0f req/s  %9.0f records/s  p50 %6.0f us  p99 %6.0f us  %7.0f fsyncs/s  %5.1f req/batch  (%s 2xx)\n",
				name, c, NR, NR / secs, NR * 10 / secs, p50, p99, fs / secs, NR / fs, ok
		}'
}
echo "openwit ingest, OTLP/JSON logs, 10 records a request ($(nproc) cores)"
run light "$N_LIGHT" 1
run heavy "$N_HEAVY" 64
