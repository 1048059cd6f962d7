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
P=$(port) C=$(port) L=$(port) G=$(port)
cat > "$dir/openwit.yaml" <<CONF
storage.data_dir: "$dir/data"
ingestion.http.otlp_port: $P
ingestion.http.port: $L
control.port: $C
ingestion.grpc.port: $G
log.level: warn
CONF
$BIN -c "$dir/openwit.yaml" 2>"$dir/log" &
pid=$!
for i in $(seq 100); do curl -sf "127.0.0.1:$C/ready" >/dev/null 2>&1 && break; sleep 0.05; done

# a time near now: the server takes no other (limits.max_past_hours)
recs='{"timeUnixNano":"'$(date +%s)000000000'","severityNumber":9,"body":{"stringValue":"GET /api/v1/items 200 12ms user=42 trace=5b8efff798038103"},"attributes":[{"key":"http.status_code","value":{"intValue":"200"}}]}'
body="{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"bench\"}}]},\"scopeLogs\":[{\"logRecords\":[$recs"
for i in 2 3 4 5 6 7 8 9 10; do body="$body,$recs"; done
printf '%s]}]}]}' "$body" > "$dir/body.json"
# the same ten records as an ExportLogsServiceRequest in protobuf (bare for
# OTLP/HTTP, gRPC-framed for OTLP/gRPC), built with the tests' encoder
node --input-type=module -e "
const { pbField: f } = await import('$PWD/t/lib/harness.mjs');
import fs from 'node:fs';
const rec = Buffer.concat([f(2, 9), f(5, f(1, 'GET /api/v1/items 200 12ms user=42 trace=5b8efff798038103')),
  f(6, Buffer.concat([f(1, 'http.status_code'), f(2, f(3, 200))]))]);
const res = f(1, f(1, Buffer.concat([f(1, 'service.name'), f(2, f(1, 'bench'))])));
const req = f(1, Buffer.concat([res, f(2, Buffer.concat(Array(10).fill(f(2, rec))))]));
const hdr = Buffer.alloc(5); hdr.writeUInt32BE(req.length, 1);
fs.writeFileSync('$dir/body.pb', req); fs.writeFileSync('$dir/body.grpc', Buffer.concat([hdr, req]));
process.exit(0);" >/dev/null

metric() { curl -s "127.0.0.1:$C/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# run NAME REQUESTS CONNECTIONS [FORMAT]: FORMAT json (default) or protobuf
# over OTLP/HTTP/1.1, or grpc (h2c, 10 streams a connection)
run() {
	name=$1 n=$2 c=$3 fmt=${4:-json}
	f0=$(metric openwit_wal_fsyncs_total)
	case $fmt in
	json) set -- --h1 -m 1 -d "$dir/body.json" -H 'Content-Type: application/json' \
		"http://127.0.0.1:$P/v1/logs" ;;
	protobuf) set -- --h1 -m 1 -d "$dir/body.pb" -H 'Content-Type: application/x-protobuf' \
		"http://127.0.0.1:$P/v1/logs" ;;
	grpc) set -- -m 10 -d "$dir/body.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
		"http://127.0.0.1:$G/opentelemetry.proto.collector.logs.v1.LogsService/Export" ;;
	esac
	h2load -n "$n" -c "$c" --log-file "$dir/$name.log" "$@" > "$dir/$name.out"
	f1=$(metric openwit_wal_fsyncs_total)
	secs=$(awk '/finished in/ { v = $3; sub(/,/, "", v); if (v ~ /ms$/) { sub(/ms/, "", v); v /= 1000 } else sub(/s$/, "", v); print v }' "$dir/$name.out")
	ok=$(awk '/^status codes/ { print $3 }' "$dir/$name.out")
	sort -n -k3 "$dir/$name.log" | awk -v n="$n" -v name="$name" -v c="$c" -v secs="$secs" \
		-v ok="$ok" -v fs="$((f1 - f0))" '
		{ lat[NR] = $3 }
		END {
			p50 = lat[int(NR * 0.50)]; p99 = lat[int(NR * 0.99)]
			printf "%-7s c=%-3d %7d req  %8.0f req/s  %9.0f records/s  p50 %6.0f us  p99 %6.0f us  %7.0f fsyncs/s  %5.1f req/batch  (%s 2xx)\n",
				name, c, NR, NR / secs, NR * 10 / secs, p50, p99, fs / secs, NR / fs, ok
		}'
}
echo "openwit ingest, OTLP logs, 10 records a request ($(nproc) cores)"
run json-1 "$N_LIGHT" 1
run json-64 "$N_HEAVY" 64
run pb-1 "$N_LIGHT" 1 protobuf
run pb-64 "$N_HEAVY" 64 protobuf
run grpc-1 "$N_LIGHT" 1 grpc
run grpc-8 "$N_HEAVY" 8 grpc
# a 200 over gRPC may still carry a failing grpc-status: count what the
# server acknowledged
acked=$(curl -s "127.0.0.1:$C/metrics" | awk '/^openwit_ingest_requests_total\{/ { s += $2 } END { print s }')
echo "acknowledged by the server in all runs: $acked of $((3 * N_LIGHT + 3 * N_HEAVY)) requests"
