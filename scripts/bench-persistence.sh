#!/usr/bin/env bash
# Throughput cost of persistence, ferrite vs Debian's redis-server (issue 6,
# acceptance 4).
#
#   scripts/bench-persistence.sh
#
# Builds ferrite in release, then for each of ROUNDS rounds and each mode
#   no persistence | appendonly yes + appendfsync everysec | + appendfsync always
# (save "" everywhere) starts a fresh redis-server and a fresh
# target/release/ferrite on free loopback ports, with their data in a
# temporary directory on disk, and runs redis-benchmark SET, INCR and LPUSH
# with 50 clients at pipeline 1 and 16 against both, back to back, the order
# alternating every round. Prints a markdown table of medians (rps of each
# server, ferrite / redis, each server relative to its own no-persistence run)
# and writes it into docs/benchmarks.md between <!-- durability:begin --> and
# <!-- durability:end -->. Details: docs/benchmarks.md, "Durability".
#
# Environment (all optional):
#   ROUNDS=3             rounds
#   REQUESTS=100000      requests per run at pipeline 1
#   REQUESTS_P16=5*REQUESTS  requests per run at pipeline 16
#   CLIENTS=50           redis-benchmark connections
#   KEYSPACE=100000      random keys (-r)
#   STEP_TIMEOUT_S=300   limit of one redis-benchmark run
#   BUILD_TIMEOUT_S=3600 limit of the build
#   FERRITE_BIN=path     server to measure as "ferrite" instead of building
#                        target/release/ferrite (FERRITE_BIN=redis-server
#                        self-tests the harness); implies WRITE_DOCS=0
#   FERRITE_ARGS="..."   extra flags for that server
#   REDIS_BIN=redis-server
#   BENCH_DATA_DIR=dir   where the temporary data directories go (default
#                        target/bench-persistence: on disk, not tmpfs, or
#                        fsync costs nothing)
#   WRITE_DOCS=0|1       update docs/benchmarks.md (default 1)
#   KEEP_WORKDIR=1       keep the temporary directory (server logs, AOFs)
#
# Exit status: 0 when every run succeeded, 1 when a run failed, 2 when the
# harness itself could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

die() { echo "bench-persistence: $*" >&2; exit 2; }

for tool in redis-benchmark python3 timeout git; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
REDIS_BIN_GIVEN=${REDIS_BIN:-}
: "${REDIS_BIN:=redis-server}"
command -v "$REDIS_BIN" >/dev/null || die "$REDIS_BIN not found"
REDIS_BIN=$(command -v "$REDIS_BIN")
case $REDIS_BIN in /*) ;; *) REDIS_BIN=$ROOT/$REDIS_BIN ;; esac
: "${BUILD_TIMEOUT_S:=3600}"

BENCH_COMMAND=""
for var in ROUNDS REQUESTS REQUESTS_P16 CLIENTS KEYSPACE FERRITE_BIN FERRITE_ARGS REDIS_BIN_GIVEN; do
    if [ -n "${!var:-}" ]; then
        BENCH_COMMAND+="${var%_GIVEN}=${!var} "
    fi
done
BENCH_COMMAND+="scripts/bench-persistence.sh"
export BENCH_COMMAND

: "${BENCH_DATA_DIR:=$ROOT/target/bench-persistence}"
mkdir -p "$BENCH_DATA_DIR"
WORKDIR=$(mktemp -d "$BENCH_DATA_DIR/run.XXXXXX")
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
    # Servers the Python side started and could not stop (bench.py keeps this file current).
    if [ -f "$WORKDIR/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        done < "$WORKDIR/pids"
    fi
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
        echo "bench-persistence: kept $WORKDIR" >&2
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${FERRITE_BIN:-}" ]; then
    echo "bench-persistence: cargo build --release --bin ferrite"
    timeout "$BUILD_TIMEOUT_S" cargo build --release --bin ferrite || die "release build failed"
    FERRITE_BIN=$ROOT/target/release/ferrite
    [ -n "${CARGO_TARGET_DIR:-}" ] && FERRITE_BIN=$CARGO_TARGET_DIR/release/ferrite
    : "${WRITE_DOCS:=1}"
else
    command -v "$FERRITE_BIN" >/dev/null || die "FERRITE_BIN=$FERRITE_BIN not found"
    FERRITE_BIN=$(command -v "$FERRITE_BIN")
    case $FERRITE_BIN in /*) ;; *) FERRITE_BIN=$ROOT/$FERRITE_BIN ;; esac
    : "${WRITE_DOCS:=0}"
fi
export FERRITE_BIN WRITE_DOCS REDIS_BIN

# Not exec: the EXIT trap above must outlive the Python process.
python3 bench/persist.py &
PY_PID=$!
wait "$PY_PID"
