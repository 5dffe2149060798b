#!/usr/bin/env bash
# Instructions per WASM.CALL of the Rust SDK rate_limit example, whole
# server, under valgrind --tool=callgrind (docs/benchmarks.md, "Instance
# reuse and the per-call fixed costs").
#
#   scripts/callgrind-wasm-call.sh [SERVER_BINARY]
#
# Starts the server (default target/release/ferrite) under callgrind with
# collection off, loads target/guests/rate_limit-rust.wasm, warms up with
# 5,000 calls, switches collection on for N (default 20,000) calls at
# `redis-benchmark -c 50 -P 16 -r 100000`, stops the server and prints the
# total Ir over N, then the 40 functions with the most self cost. The output
# file stays in $OUT (default target/callgrind-wasm-call.out).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/target/release/ferrite}
PORT=${PORT:-7797}
N=${N:-20000}
WASM=${RATE_LIMIT_WASM:-$ROOT/target/guests/rate_limit-rust.wasm}
OUT=${OUT:-$ROOT/target/callgrind-wasm-call.out}
# Another request (e.g. CALL="GET key:__rand_int__", or the trivial function:
# RATE_LIMIT_WASM=noop.wasm NAME=noop CAPS="" CALL="WASM.CALL noop").
NAME=${NAME:-rate_limit}
CAPS=${CAPS-read write}
CALL=${CALL:-WASM.CALL rate_limit KEYS rate:__rand_int__ ARGS 1000000 60}
DIR=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2> /dev/null; rm -rf "$DIR"' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
    "$BIN" --port "$PORT" --dir "$DIR" --save "" --appendonly no > "$DIR/log" 2>&1 &
PID=$!
for _ in $(seq 600); do redis-cli -p "$PORT" PING > /dev/null 2>&1 && break; sleep 0.2; done
python3 - "$PORT" "$WASM" "$NAME" "$CAPS" <<'PY'
import socket, sys
port, path, name, caps = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
wasm = open(path, 'rb').read()
args = [b'WASM.LOAD', name.encode(), wasm]
if caps.split():
    args += [b'CAPABILITIES'] + [c.encode() for c in caps.split()]
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))
reply = s.recv(100)
if not reply.startswith(b'+OK'):
    sys.exit(f'WASM.LOAD failed: {reply!r}')
PY
# shellcheck disable=SC2086 # CALL is split into arguments on purpose
redis-benchmark -p "$PORT" -c 50 -P 16 -n 5000 -r 100000 -q $CALL > /dev/null
callgrind_control -i on "$PID" > /dev/null 2>&1
# shellcheck disable=SC2086
redis-benchmark -p "$PORT" -c 50 -P 16 -n "$N" -r 100000 -q $CALL > /dev/null
callgrind_control -i off "$PID" > /dev/null 2>&1
kill "$PID"
wait "$PID" 2> /dev/null || true
TOTAL=$(awk '/^totals:/ { print $2 }' "$OUT")
echo "Ir per call: $((TOTAL / N)) (total $TOTAL over $N calls)"
callgrind_annotate --threshold=100 --auto=no "$OUT" 2> /dev/null \
    | sed -n '/file:function/,$p' | grep -v '^-' | head -41 || true
