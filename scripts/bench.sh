#!/usr/bin/env bash
# Side-by-side benchmark of ferrite and Debian's redis-server (issue 7).
#
#   scripts/bench.sh
#
# Builds ferrite in release and the benchmark's guest modules, starts
# redis-server (--save '' --appendonly no) and target/release/ferrite on free
# loopback ports, loads the same 1M small keys into fresh copies of each to
# compare memory, then runs the same redis-benchmark workloads against both,
# interleaved (redis, ferrite, redis, ferrite, ...) for ROUNDS rounds at
# pipeline 1 and 16 with 50 clients. Prints a markdown table of medians and
# ferrite/redis ratios plus PASS/MISS per target of issue 7, and writes the
# table into docs/benchmarks.md between <!-- bench:begin --> and
# <!-- bench:end -->. Details: docs/benchmarks.md, "Server benchmarks".
#
# Environment (all optional):
#   ROUNDS=3             rounds (each round runs every workload on both servers)
#   REQUESTS=200000      requests per run at pipeline 1
#   REQUESTS_P16=5*REQUESTS  requests per run at pipeline 16
#   CLIENTS=50           redis-benchmark connections
#   KEYSPACE=100000      random keys (-r) of the throughput workloads
#   MEM_KEYS=1000000     SETs of the memory phase (-r 100000000 -d 8 -P 64)
#   SKIP_WASM=1          a WASM workload that is not available (module not
#                        built, WASM.LOAD error) does not make the exit status
#                        non-zero; the row still says why
#   WORKLOADS=a,b        only these rows, by the first word of their name
#                        (SET GET INCR LPUSH HSET ZADD rate_limit noop),
#                        e.g. WORKLOADS=GET,rate_limit,noop for the WASM work
#   SKIP_MEMORY=1        no memory phase (the table says "not measured")
#   STEP_TIMEOUT_S=300   limit of one redis-benchmark run
#   BUILD_TIMEOUT_S=3600 limit of each build step
#   FERRITE_BIN=path     server to measure as "ferrite" instead of building
#                        target/release/ferrite (FERRITE_BIN=redis-server
#                        self-tests the harness); implies WRITE_DOCS=0
#   FERRITE_ARGS="..."   extra flags for that server (the servers run without
#                        any FERRITE_* variable of this environment)
#   REDIS_BIN=redis-server
#   RATE_LIMIT_WASM=path the Rust SDK rate_limit example module (default:
#                        target/guests/rate_limit-rust.wasm, built with
#                        FERRITE_GUESTS_SKIP=c,go,as scripts/build-guests.sh
#                        if missing)
#   WRITE_DOCS=0|1       update docs/benchmarks.md (default 1)
#   KEEP_WORKDIR=1       keep the temporary directory (server logs)
#
# Exit status: 0 when every run succeeded (targets missed are reported, not
# failed), 1 when a run answered an error or a WASM workload was not
# available (unless SKIP_WASM=1), 2 when the harness itself could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

die() { echo "bench: $*" >&2; exit 2; }

for tool in redis-benchmark python3 timeout git; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
REDIS_BIN_GIVEN=${REDIS_BIN:-}
: "${REDIS_BIN:=redis-server}"
command -v "$REDIS_BIN" >/dev/null || die "$REDIS_BIN not found"
REDIS_BIN=$(command -v "$REDIS_BIN")
case $REDIS_BIN in /*) ;; *) REDIS_BIN=$ROOT/$REDIS_BIN ;; esac
: "${BUILD_TIMEOUT_S:=3600}"

# The exact command, for the report: the settings given in the environment.
BENCH_COMMAND=""
for var in ROUNDS REQUESTS REQUESTS_P16 CLIENTS KEYSPACE MEM_KEYS SKIP_WASM WORKLOADS SKIP_MEMORY FERRITE_BIN FERRITE_ARGS \
           REDIS_BIN_GIVEN RATE_LIMIT_WASM; do
    if [ -n "${!var:-}" ]; then
        BENCH_COMMAND+="${var%_GIVEN}=${!var} "
    fi
done
BENCH_COMMAND+="scripts/bench.sh"
export BENCH_COMMAND

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/ferrite-bench.XXXXXX")
export BENCH_WORKDIR=$WORKDIR
PY_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PY_PID" 2>/dev/null || true
    fi
    # Servers the Python side started and could not stop (it keeps this file current).
    if [ -f "$WORKDIR/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        done < "$WORKDIR/pids"
    fi
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
        echo "bench: kept $WORKDIR" >&2
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. ferrite, release.
if [ -z "${FERRITE_BIN:-}" ]; then
    echo "bench: cargo build --release --bin ferrite"
    timeout "$BUILD_TIMEOUT_S" cargo build --release --bin ferrite || die "release build failed"
    FERRITE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrite
    : "${WRITE_DOCS:=1}"
else
    command -v "$FERRITE_BIN" >/dev/null || die "FERRITE_BIN=$FERRITE_BIN not found"
    FERRITE_BIN=$(command -v "$FERRITE_BIN")
    # Absolute (the servers run in their own directories), symlinks kept:
    # Debian's redis-server is a link that dispatches on its name.
    case $FERRITE_BIN in /*) ;; *) FERRITE_BIN=$ROOT/$FERRITE_BIN ;; esac
    : "${WRITE_DOCS:=0}"
fi
export FERRITE_BIN WRITE_DOCS REDIS_BIN

# 2. The trivial WASM function (bench/noop.c), built from source every run.
NOOP_WASM="" NOOP_MISSING=""
if command -v clang >/dev/null; then
    if timeout 120 clang --target=wasm32-unknown-unknown -O2 -nostdlib -Wl,--no-entry \
            -o "$WORKDIR/noop.wasm" bench/noop.c 2> "$WORKDIR/noop.log"; then
        NOOP_WASM=$WORKDIR/noop.wasm
    else
        NOOP_MISSING="clang could not build bench/noop.c: $(tr '\n' ' ' < "$WORKDIR/noop.log" | cut -c1-200)"
    fi
else
    NOOP_MISSING="clang not found (needed to build bench/noop.c)"
fi
export NOOP_WASM NOOP_MISSING

# 3. The Rust SDK rate_limit example.
find_rate_limit() {
    local candidate
    # scripts/build-guests.sh installs examples/rate_limit/rust as this file.
    if [ -f target/guests/rate_limit-rust.wasm ]; then
        echo "$ROOT/target/guests/rate_limit-rust.wasm"
        return 0
    fi
    return 1
}
RATE_LIMIT_MISSING=""
if [ -n "${RATE_LIMIT_WASM:-}" ]; then
    [ -f "$RATE_LIMIT_WASM" ] || die "RATE_LIMIT_WASM=$RATE_LIMIT_WASM does not exist"
    RATE_LIMIT_WASM=$(cd "$(dirname "$RATE_LIMIT_WASM")" && pwd)/$(basename "$RATE_LIMIT_WASM")
elif RATE_LIMIT_WASM=$(find_rate_limit); then
    :
elif [ -x scripts/build-guests.sh ]; then
    # Only the Rust guests: the C, Go and AssemblyScript ones are not measured here.
    echo "bench: FERRITE_GUESTS_SKIP=c,go,as scripts/build-guests.sh (rate_limit-rust.wasm is not built yet)"
    if FERRITE_GUESTS_SKIP=c,go,as timeout "$BUILD_TIMEOUT_S" scripts/build-guests.sh > "$WORKDIR/guests.log" 2>&1 \
            && RATE_LIMIT_WASM=$(find_rate_limit); then
        :
    else
        RATE_LIMIT_WASM=""
        RATE_LIMIT_MISSING="scripts/build-guests.sh did not produce target/guests/rate_limit-rust.wasm: $(tail -n 3 "$WORKDIR/guests.log" | tr '\n' ' ' | cut -c1-200)"
    fi
else
    RATE_LIMIT_WASM=""
    RATE_LIMIT_MISSING="Rust SDK rate_limit example not built (no target/guests/rate_limit-rust.wasm, no scripts/build-guests.sh)"
fi
export RATE_LIMIT_WASM RATE_LIMIT_MISSING

# 4. Measure. Not exec: the EXIT trap above must outlive the Python process.
python3 bench/bench.py &
PY_PID=$!
wait "$PY_PID"
