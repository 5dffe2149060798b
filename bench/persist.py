#!/usr/bin/env python3
"""Throughput cost of persistence, ferrite vs redis-server (issue 6, acceptance 4).

Run it through scripts/bench-persistence.sh, which builds ferrite in release,
owns the temporary directory and kills leftover servers on exit.

For each round and each mode (no persistence, `appendonly yes` with
`appendfsync everysec`, with `appendfsync always`; `save ""` everywhere), a
fresh redis-server and a fresh ferrite start on free loopback ports, each on
its own empty directory on the disk of $BENCH_WORKDIR; then for every workload
(SET, INCR, LPUSH) and pipeline (1, 16) both run the same redis-benchmark back
to back, the order alternating every round. The table shows medians over the
rounds: rps of each server, ferrite / redis, and each server's rps relative to
its own no-persistence run.

Reuses bench/bench.py (server start/stop, redis-benchmark runs, docs block
writing); Python 3 standard library only.
"""

import datetime
import json
import os
import signal
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (bench/bench.py, next to this file)

MARK_BEGIN = "<!-- durability:begin -->"
MARK_END = "<!-- durability:end -->"

MODES = [
    # (name, extra flags for both servers)
    ("no persistence", []),
    ("appendfsync everysec", ["--appendonly", "yes", "--appendfsync", "everysec"]),
    ("appendfsync always", ["--appendonly", "yes", "--appendfsync", "always"]),
]

WORKLOADS = [("SET", "set"), ("INCR", "incr"), ("LPUSH", "lpush")]
PIPELINES = (1, 16)


class Settings:
    """What bench.Server and bench.run_benchmark need, from the environment
    (see scripts/bench-persistence.sh)."""

    def __init__(self):
        self.rounds = bench.env_int("ROUNDS", 3)
        self.requests_p1 = bench.env_int("REQUESTS", 100_000)
        self.requests_p16 = bench.env_int("REQUESTS_P16", 5 * self.requests_p1)
        self.clients = bench.env_int("CLIENTS", 50)
        self.keyspace = bench.env_int("KEYSPACE", 100_000)
        self.step_timeout_s = bench.env_int("STEP_TIMEOUT_S", 300)
        self.redis_bin = os.environ.get("REDIS_BIN", "redis-server")
        self.ferrite_bin = os.environ["FERRITE_BIN"]
        self.ferrite_args = os.environ.get("FERRITE_ARGS", "").split()
        self.write_docs = os.environ.get("WRITE_DOCS", "1") == "1"
        self.workdir = os.environ["BENCH_WORKDIR"]
        self.pidfile = os.path.join(self.workdir, "pids")
        self.command = os.environ.get("BENCH_COMMAND", "scripts/bench-persistence.sh")


def aof_check(server, mode_flags):
    """The mode really is on: INFO persistence says aof_enabled as asked."""
    want = "1" if "--appendonly" in mode_flags else "0"
    fields = bench.info_fields(server.port, "persistence")
    got = fields.get("aof_enabled")
    if got != want:
        raise RuntimeError(f"{server.label}: INFO persistence aof_enabled={got!r}, expected {want} "
                           f"for flags {mode_flags}")


def measure(settings, errors):
    runs = {}  # (mode, workload, pipeline, label) -> [rps]
    run_errors = {}
    total = settings.rounds * len(MODES) * len(WORKLOADS) * len(PIPELINES) * 2
    done = 0
    for rnd in range(settings.rounds):
        for mode, flags in MODES:
            redis = bench.Server(settings, "redis", settings.redis_bin, flags)
            ferrite = bench.Server(settings, "ferrite", settings.ferrite_bin,
                                   ["--save", "", *flags, *settings.ferrite_args])
            bench.SERVERS[:] = [redis, ferrite]
            gen = f"r{rnd}-{mode.split()[-1]}"
            try:
                redis.start(gen)
                ferrite.start(gen)
                aof_check(redis, flags)
                aof_check(ferrite, flags)
                for name, test in WORKLOADS:
                    for pipeline in PIPELINES:
                        order = [redis, ferrite] if rnd % 2 == 0 else [ferrite, redis]
                        requests = settings.requests_p1 if pipeline == 1 else settings.requests_p16
                        row = []
                        for server in order:
                            key = (mode, name, pipeline, server.label)
                            rps, err = bench.run_benchmark(settings, server.port, ("-t", test), requests,
                                                           pipeline, settings.keyspace)
                            done += 1
                            if err:
                                run_errors[key] = err
                                errors.append(f"{server.label} {mode} {name} P{pipeline}: {err}")
                                row.append(f"{server.label} error")
                            else:
                                runs.setdefault(key, []).append(rps)
                                row.append(f"{server.label} {rps:,.0f}")
                            if not server.alive():
                                raise RuntimeError(f"{server.label} died ({mode}); log: {server.log_tail()}")
                        print(f"  [{done}/{total}] round {rnd + 1} {mode} {name} P{pipeline}: "
                              f"{', '.join(row)}", flush=True)
            finally:
                bench.stop_all()
    return runs, run_errors


def build_report(settings, runs, run_errors, errors, meta):
    med = {k: statistics.median(v) for k, v in runs.items() if len(v) == settings.rounds}
    lines = [
        f"Run {meta['date']} · {meta['machine']}, load average {meta['load_start']} at start, "
        f"{bench.load_average()} at end · {meta['redis_version']} · ferrite `{meta['ferrite']}` · "
        f"data on {meta['fs']}",
        "",
        f"Command: `{settings.command}` — redis-benchmark `-t set|incr|lpush -c {settings.clients} "
        f"-r {settings.keyspace}`, {settings.requests_p1:,} requests per run at P1, "
        f"{settings.requests_p16:,} at P16; {settings.rounds} rounds, fresh servers per mode and round, "
        "the two servers back to back in alternating order; medians. `save \"\"` on both.",
        "",
        "| mode | workload | P | redis rps | ferrite rps | ferrite / redis | redis vs own no-persistence "
        "| ferrite vs own no-persistence |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    base_mode = MODES[0][0]
    for mode, _ in MODES:
        for name, _ in WORKLOADS:
            for pipeline in PIPELINES:
                cells = []
                for label in ("redis", "ferrite"):
                    key = (mode, name, pipeline, label)
                    if key in run_errors:
                        cells.append(f"error: {run_errors[key]}".replace("|", "\\|"))
                    else:
                        cells.append(bench.fmt_rps(med.get(key)))
                r = bench.ratio(med.get((mode, name, pipeline, "ferrite")), med.get((mode, name, pipeline, "redis")))
                own = []
                for label in ("redis", "ferrite"):
                    rel = bench.ratio(med.get((mode, name, pipeline, label)),
                                      med.get((base_mode, name, pipeline, label)))
                    own.append("-" if rel is None else f"{rel:.2f}")
                lines.append(f"| {mode} | {name} | {pipeline} | {cells[0]} | {cells[1]} | {bench.fmt_ratio(r)} "
                             f"| {own[0]} | {own[1]} |")
    lines.append("")
    if errors:
        lines.append(f"{len(errors)} run(s) failed; see the error cells.")
        lines.append("")
    return "\n".join(lines), med


def write_docs(block):
    """bench.write_docs on this script's markers (it reads its module's
    MARK_BEGIN / MARK_END when called)."""
    saved = bench.MARK_BEGIN, bench.MARK_END
    bench.MARK_BEGIN, bench.MARK_END = MARK_BEGIN, MARK_END
    try:
        return bench.write_docs(block)
    finally:
        bench.MARK_BEGIN, bench.MARK_END = saved


def filesystem(path):
    """`ext4 /dev/vda`: fsync on tmpfs would cost nothing, the report says where data went."""
    best = ("?", "?", "")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype = line.split()[:3]
                if os.path.abspath(path).startswith(mnt.rstrip("/") + "/") or path == mnt:
                    if len(mnt) >= len(best[2]):
                        best = (fstype, dev, mnt)
    except OSError:
        pass
    return f"{best[0]} ({best[1]})"


def main():
    settings = Settings()
    errors = []

    def on_signal(signum, _frame):
        bench.stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    meta = bench.metadata(settings)
    meta["fs"] = filesystem(settings.workdir)
    print(f"bench-persistence: redis {settings.redis_bin}, ferrite {settings.ferrite_bin}; "
          f"{settings.rounds} rounds × {len(MODES)} modes; data in {settings.workdir} ({meta['fs']})", flush=True)
    try:
        runs, run_errors = measure(settings, errors)
    except (RuntimeError, OSError) as exc:
        bench.stop_all()
        print(f"bench-persistence: FAILED: {exc}", file=sys.stderr)
        return 2
    report, _ = build_report(settings, runs, run_errors, errors, meta)
    print()
    print(report)
    raw_path = os.path.join(bench.ROOT, "target", "bench", "persistence-last-run.json")
    os.makedirs(os.path.dirname(raw_path), exist_ok=True)
    with open(raw_path, "w") as f:
        json.dump({"meta": meta, "runs": [[*k, v] for k, v in runs.items()],
                   "run_errors": [[*k, v] for k, v in run_errors.items()], "errors": errors}, f, indent=1)
    print(f"bench-persistence: raw results in {os.path.relpath(raw_path, bench.ROOT)}")
    if settings.write_docs:
        err = write_docs(report)
        if err:
            errors.append(err)
            print(f"bench-persistence: {err}", file=sys.stderr)
        else:
            print(f"bench-persistence: wrote the table into {os.path.relpath(bench.DOCS_PATH, bench.ROOT)}")
    for e in errors:
        print(f"bench-persistence: error: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
