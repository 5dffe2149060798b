#!/usr/bin/env python3
"""Side-by-side benchmark of ferrite and redis-server (issue 7).

Run it through scripts/bench.sh, which builds ferrite and the guest modules,
owns the temporary directory and kills leftover servers on exit. This file
starts the servers, loads the functions, runs redis-benchmark interleaved
(redis, ferrite, redis, ferrite, ...), measures memory, prints the tables and
the targets, and writes the result block into docs/benchmarks.md.

Python 3 standard library only. Every step has a timeout; every server this
process starts is killed when it exits, whatever the reason.
"""

import csv
import datetime
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_PATH = os.path.join(ROOT, "docs", "benchmarks.md")
MARK_BEGIN = "<!-- bench:begin -->"
MARK_END = "<!-- bench:end -->"

SERVER_START_TIMEOUT_S = 30
SERVER_STOP_TIMEOUT_S = 10
COMMAND_TIMEOUT_S = 30
REPLY_BYTES_MAX = 64 * 1024 * 1024


def env_int(name, default, minimum=1):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        sys.exit(f"bench: {name}={raw!r} is not an integer")
    if value < minimum:
        sys.exit(f"bench: {name}={value} must be at least {minimum}")
    return value


class Settings:
    """Everything configurable, from the environment (see scripts/bench.sh)."""

    def __init__(self):
        self.rounds = env_int("ROUNDS", 3)
        self.requests_p1 = env_int("REQUESTS", 200_000)
        self.requests_p16 = env_int("REQUESTS_P16", 5 * self.requests_p1)
        self.clients = env_int("CLIENTS", 50)
        self.keyspace = env_int("KEYSPACE", 100_000)
        self.mem_keys = env_int("MEM_KEYS", 1_000_000)
        self.step_timeout_s = env_int("STEP_TIMEOUT_S", 300)
        self.skip_wasm = os.environ.get("SKIP_WASM", "0") == "1"
        self.skip_memory = os.environ.get("SKIP_MEMORY", "0") == "1"
        # WORKLOADS=GET,rate_limit,noop: only the rows whose name starts with one of these.
        self.workloads = [w.strip().lower() for w in os.environ.get("WORKLOADS", "").split(",") if w.strip()]
        self.redis_bin = os.environ.get("REDIS_BIN", "redis-server")
        self.ferrite_bin = os.environ["FERRITE_BIN"]
        self.ferrite_args = os.environ.get("FERRITE_ARGS", "").split()
        self.rate_limit_wasm = os.environ.get("RATE_LIMIT_WASM", "")
        self.rate_limit_missing = os.environ.get("RATE_LIMIT_MISSING", "")
        self.noop_wasm = os.environ.get("NOOP_WASM", "")
        self.noop_missing = os.environ.get("NOOP_MISSING", "")
        self.write_docs = os.environ.get("WRITE_DOCS", "1") == "1"
        self.workdir = os.environ["BENCH_WORKDIR"]
        self.pidfile = os.path.join(self.workdir, "pids")
        self.command = os.environ.get("BENCH_COMMAND", "scripts/bench.sh")


# --------------------------------------------------------------------------
# A minimal RESP2 client (enough for setup, checks and INFO).


class ErrorReply(str):
    """An error reply (`-ERR ...`) as a string."""


class Conn:
    def __init__(self, port, timeout_s=COMMAND_TIMEOUT_S):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.buf = b""

    def close(self):
        self.sock.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            if isinstance(arg, str):
                arg = arg.encode()
            elif isinstance(arg, int):
                arg = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk
        if len(self.buf) > REPLY_BYTES_MAX:
            raise ConnectionError("reply too large")

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode(errors="replace")
        if kind == b"-":
            return ErrorReply(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply line {line[:60]!r}")


def info_fields(port, section):
    conn = Conn(port)
    try:
        raw = conn.call("INFO", section)
    finally:
        conn.close()
    if isinstance(raw, ErrorReply) or not isinstance(raw, bytes):
        return {}
    fields = {}
    for line in raw.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def vm_rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------
# Servers.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process on a free loopback port, persistence off."""

    def __init__(self, settings, label, binary, extra_args):
        self.settings = settings
        self.label = label
        self.binary = binary
        self.extra_args = extra_args
        self.proc = None
        self.port = None
        self.dir = None
        self.log_path = None

    def argv(self):
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir]
        if os.path.basename(self.binary).startswith("redis-server"):
            # Redis: no RDB snapshots, no AOF (ferrite has no persistence by default).
            args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        return args + self.extra_args

    def start(self, generation):
        for attempt in range(3):
            self.port = free_port()
            self.dir = os.path.join(self.settings.workdir, f"{self.label}-{generation}-{attempt}")
            os.makedirs(self.dir, exist_ok=True)
            self.log_path = os.path.join(self.dir, "server.log")
            log = open(self.log_path, "wb")
            # Default configuration: ferrite reads FERRITE_* variables (and refuses
            # unknown ones such as this harness's FERRITE_BIN); flags go in FERRITE_ARGS.
            env = {k: v for k, v in os.environ.items() if not k.startswith("FERRITE_")}
            self.proc = subprocess.Popen(
                self.argv(), cwd=self.dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
            log.close()
            record_pids(self.settings)
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    conn = Conn(self.port, timeout_s=2)
                    try:
                        if conn.call("PING") == "PONG":
                            return
                    finally:
                        conn.close()
                except OSError:
                    pass
                time.sleep(0.1)
            exited = self.proc.poll() is not None
            self.stop()
            if not exited:
                raise RuntimeError(f"{self.label} did not answer PING within {SERVER_START_TIMEOUT_S} s; "
                                   f"log: {self.log_tail()}")
            # The port may have been taken between free_port() and bind: retry.
        raise RuntimeError(f"{self.label} exited at start-up ({' '.join(self.argv())}); log: {self.log_tail()}")

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-800:].decode(errors="replace").strip() or "(empty)"
        except OSError:
            return "(no log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
        self.proc = None
        record_pids(self.settings)


SERVERS = []


def record_pids(settings):
    """Keeps $BENCH_WORKDIR/pids current so that bench.sh's trap can kill leftovers."""
    pids = [str(s.proc.pid) for s in SERVERS if s.proc is not None and s.proc.poll() is None]
    with open(settings.pidfile, "w") as f:
        f.write("".join(p + "\n" for p in pids))


def stop_all():
    for server in SERVERS:
        try:
            server.stop()
        except Exception as exc:  # keep stopping the others
            print(f"bench: stopping {server.label}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------
# Workloads.


class Workload:
    """One row family of the table. `redis_cmd` / `ferrite_cmd` are either
    ("-t", name) for a built-in redis-benchmark test or a command argv."""

    def __init__(self, name, redis_cmd, ferrite_cmd, wasm=False):
        self.name = name
        self.redis_cmd = redis_cmd
        self.ferrite_cmd = ferrite_cmd
        self.wasm = wasm
        self.unavailable = {}  # label -> reason


def workloads():
    builtin = [("SET", "set"), ("GET", "get"), ("INCR", "incr"), ("LPUSH", "lpush"),
               ("HSET", "hset"), ("ZADD", "zadd")]
    result = [Workload(name, ("-t", t), ("-t", t)) for name, t in builtin]
    result.append(Workload(
        "rate_limit (FCALL / WASM.CALL)",
        ["FCALL", "rate_limit", "1", "rate:__rand_int__", "1000000", "60"],
        ["WASM.CALL", "rate_limit", "KEYS", "rate:__rand_int__", "ARGS", "1000000", "60"],
        wasm=True))
    result.append(Workload(
        "noop (FCALL / WASM.CALL)",
        ["FCALL", "noop", "0"],
        ["WASM.CALL", "noop"],
        wasm=True))
    return result


def run_benchmark(settings, port, command, requests, pipeline, keyspace, extra=()):
    """Runs redis-benchmark once; returns (rps or None, error text or None)."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(settings.clients),
            "-n", str(requests), "-r", str(keyspace), "-P", str(pipeline), "--csv", *extra]
    argv += list(command)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=settings.step_timeout_s)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {settings.step_timeout_s} s"
    stdout = done.stdout.decode(errors="replace")
    stderr = done.stderr.decode(errors="replace").strip()
    # redis-benchmark 7 exits 1 on the first error reply ("Error from server: ...")
    # and prints connection errors on stderr; any stderr output counts as an error.
    if done.returncode != 0 or stderr:
        text = stderr or stdout.strip() or f"exit status {done.returncode}"
        return None, " ".join(text.split())[:300]
    rows = [row for row in csv.reader(io.StringIO(stdout)) if row]
    if len(rows) != 2 or rows[0][:2] != ["test", "rps"]:
        return None, f"unexpected redis-benchmark output: {stdout.strip()[:300]!r}"
    try:
        rps = float(rows[1][1])
    except (ValueError, IndexError):
        return None, f"unparsable rps in {rows[1]!r}"
    if rps <= 0:
        return None, f"non-positive rps in {rows[1]!r}"
    return rps, None


# --------------------------------------------------------------------------
# Function set-up and semantic checks (the WASM rows must measure the real thing).


def check_rate_limit(port, call_prefix, label):
    """Runs the rate limiter on a fresh key and checks the semantics: allowed
    twice, counter = 2, TTL in (0, 60]; with limit 2 the third call is refused."""
    conn = Conn(port)
    try:
        key = f"bench:check:{os.getpid()}:{label}"
        conn.call("DEL", key)
        replies = [conn.call(*call_prefix(key, 1000000, 60)) for _ in range(2)]
        if replies != [1, 1]:
            return f"rate_limit check on {label}: replies {replies!r}, expected [1, 1]"
        value, ttl = conn.call("GET", key), conn.call("TTL", key)
        if value != b"2" or not (isinstance(ttl, int) and 0 < ttl <= 60):
            return f"rate_limit check on {label}: counter {value!r} ttl {ttl!r}, expected b'2' and 1..60"
        third = conn.call(*call_prefix(key, 2, 60))
        if third != 0:
            return f"rate_limit check on {label}: third call with limit 2 replied {third!r}, expected 0"
        conn.call("DEL", key)
        return None
    finally:
        conn.close()


def check_noop(port, argv, label):
    conn = Conn(port)
    try:
        reply = conn.call(*argv)
    finally:
        conn.close()
    return None if reply == 1 else f"noop check on {label}: reply {reply!r}, expected 1"


def setup_redis_functions(port):
    with open(os.path.join(ROOT, "bench", "functions.lua")) as f:
        code = f.read()
    conn = Conn(port)
    try:
        reply = conn.call("FUNCTION", "LOAD", "REPLACE", code)
    finally:
        conn.close()
    if isinstance(reply, ErrorReply):
        raise RuntimeError(f"redis FUNCTION LOAD failed: {reply}")
    for err in (check_rate_limit(port, lambda k, l, w: ["FCALL", "rate_limit", "1", k, l, w], "redis"),
                check_noop(port, ["FCALL", "noop", "0"], "redis")):
        if err:
            raise RuntimeError(err)


def wasm_load(port, name, path, capabilities):
    with open(path, "rb") as f:
        module = f.read()
    conn = Conn(port)
    try:
        args = ["WASM.LOAD", name, module]
        if capabilities:
            args += ["CAPABILITIES", *capabilities]
        reply = conn.call(*args)
    finally:
        conn.close()
    return " ".join(reply.split()) if isinstance(reply, ErrorReply) else None


def setup_ferrite_functions(settings, port, table, errors):
    """Loads the two modules; marks a row unavailable (with the reason) when a
    module is missing or WASM.LOAD answers an error. A module that loads but
    answers wrongly is an error, not merely unavailable."""
    by_name = {w.name.split(" ")[0]: w for w in table if w.wasm}
    plans = [("rate_limit", settings.rate_limit_wasm, settings.rate_limit_missing, ["read", "write"]),
             ("noop", settings.noop_wasm, settings.noop_missing, [])]
    for name, path, missing, caps in plans:
        row = by_name.get(name)
        if row is None:  # not selected by WORKLOADS
            continue
        if not path:
            row.unavailable["ferrite"] = missing or f"{name} module not built"
            continue
        try:
            err = wasm_load(port, name, path, caps)
        except OSError as exc:
            err = f"{type(exc).__name__}: {exc}"
        if err:
            row.unavailable["ferrite"] = f"WASM.LOAD {name}: {err}"
            continue
        if name == "rate_limit":
            err = check_rate_limit(
                port, lambda k, l, w: ["WASM.CALL", "rate_limit", "KEYS", k, "ARGS", l, w], "ferrite")
        else:
            err = check_noop(port, ["WASM.CALL", "noop"], "ferrite")
        if err:
            row.unavailable["ferrite"] = f"wrong answer: {err}"
            errors.append(err)


# --------------------------------------------------------------------------
# Phases.


def memory_phase(settings, redis, ferrite, errors):
    """Fresh servers, the same SET load into each, then INFO memory and VmRSS."""
    result = {}
    for server in (redis, ferrite):
        server.start("mem")
        before = info_fields(server.port, "memory")
        rps, err = run_benchmark(settings, server.port, ["-t", "set"], settings.mem_keys, 64,
                                 100_000_000, extra=["-d", "8"])
        if err:
            errors.append(f"memory load on {server.label}: {err}")
        time.sleep(1.0)
        fields = info_fields(server.port, "memory")
        conn = Conn(server.port)
        try:
            dbsize = conn.call("DBSIZE")
        finally:
            conn.close()

        def num(d, k):
            try:
                return int(d[k])
            except (KeyError, ValueError):
                return None
        result[server.label] = {
            "dbsize": dbsize if isinstance(dbsize, int) else None,
            "used_memory_before": num(before, "used_memory"),
            "used_memory": num(fields, "used_memory"),
            "used_memory_rss": num(fields, "used_memory_rss"),
            "vm_rss": vm_rss_bytes(server.proc.pid),
            "load_rps": rps,
        }
        server.stop()
    return result


def throughput_phase(settings, redis, ferrite, table, errors):
    runs = {}  # (workload, pipeline, label) -> list of rps
    run_errors = {}  # (workload, pipeline, label) -> first error
    total = len(table) * 2 * settings.rounds
    done = 0
    for rnd in range(settings.rounds):
        # Alternate who goes first so that drift on a noisy machine cancels out.
        order = (redis, ferrite) if rnd % 2 == 0 else (ferrite, redis)
        for w in table:
            for pipeline in (1, 16):
                requests = settings.requests_p1 if pipeline == 1 else settings.requests_p16
                last = {}
                for server in order:
                    key = (w.name, pipeline, server.label)
                    if server.label in w.unavailable:
                        continue
                    if not server.alive():
                        run_errors.setdefault(key, f"{server.label} is not running: {server.log_tail()}")
                        continue
                    cmd = w.redis_cmd if server is redis else w.ferrite_cmd
                    rps, err = run_benchmark(settings, server.port, cmd, requests, pipeline,
                                             settings.keyspace)
                    if err:
                        run_errors.setdefault(key, err)
                        errors.append(f"round {rnd + 1} {w.name} P{pipeline} on {server.label}: {err}")
                        last[server.label] = "error"
                    else:
                        runs.setdefault(key, []).append(rps)
                        last[server.label] = fmt_rps(rps)
                done += 1
                row = [f"{label} {last.get(label, '-')}" for label in ("redis", "ferrite")]
                print(f"  [{done}/{total}] round {rnd + 1} {w.name} P{pipeline}: {', '.join(row)}",
                      flush=True)
    return runs, run_errors


# --------------------------------------------------------------------------
# Report.


def fmt_rps(v):
    return "-" if v is None else f"{v:,.0f}"


def fmt_bytes(v):
    return "n/a" if v is None else f"{v / (1024 * 1024):,.1f} MiB"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def build_report(settings, table, runs, run_errors, memory, errors, meta):
    med = {k: statistics.median(v) for k, v in runs.items() if len(v) == settings.rounds}
    lines = []
    lines.append(f"Run {meta['date']} · {meta['machine']}, load average {meta['load_start']} at start, "
                 f"{load_average()} at end · {meta['redis_version']} · ferrite `{meta['ferrite']}`")
    lines.append("")
    lines.append(f"Command: `{settings.command}` — {settings.clients} clients, {settings.rounds} rounds "
                 f"interleaved, medians; {settings.requests_p1:,} requests per run at P1, "
                 f"{settings.requests_p16:,} at P16; random keys over {settings.keyspace:,}.")
    lines.append("")
    lines.append("| workload | pipeline | redis rps | ferrite rps | ratio |")
    lines.append("|---|---:|---:|---:|---:|")
    for w in table:
        for pipeline in (1, 16):
            cells = []
            for label in ("redis", "ferrite"):
                key = (w.name, pipeline, label)
                if label in w.unavailable:
                    cells.append(f"not available: {w.unavailable[label]}")
                elif key in run_errors:
                    cells.append(f"error: {run_errors[key]}")
                else:
                    cells.append(fmt_rps(med.get(key)))
            r = ratio(med.get((w.name, pipeline, "ferrite")), med.get((w.name, pipeline, "redis")))
            cells = [c.replace("|", "\\|") for c in cells]
            lines.append(f"| {w.name} | {pipeline} | {cells[0]} | {cells[1]} | {fmt_ratio(r)} |")
    lines.append("")
    lines.append(f"Memory after `redis-benchmark -t set -n {settings.mem_keys:,} -r 100000000 -d 8 -P 64` "
                 "into a fresh server:")
    lines.append("")
    lines.append("| metric | redis | ferrite | ratio |")
    lines.append("|---|---:|---:|---:|")
    rm, fm = memory.get("redis", {}), memory.get("ferrite", {})
    def fmt_count(v):
        return "n/a" if v is None else f"{v:,}"
    lines.append(f"| keys (DBSIZE) | {fmt_count(rm.get('dbsize'))} | {fmt_count(fm.get('dbsize'))} | "
                 f"{fmt_ratio(ratio(fm.get('dbsize'), rm.get('dbsize')))} |")
    for metric, label in (("used_memory", "used_memory"), ("used_memory_rss", "used_memory_rss"),
                          ("vm_rss", "VmRSS (/proc)")):
        lines.append(f"| {label} | {fmt_bytes(rm.get(metric))} | {fmt_bytes(fm.get(metric))} | "
                     f"{fmt_ratio(ratio(fm.get(metric), rm.get(metric)))} |")

    def per_key(m):
        if m.get("used_memory") is None or m.get("used_memory_before") is None or not m.get("dbsize"):
            return None
        return (m["used_memory"] - m["used_memory_before"]) / m["dbsize"]
    pk_r, pk_f = per_key(rm), per_key(fm)
    lines.append(f"| used_memory per key (over empty) | {'n/a' if pk_r is None else f'{pk_r:.0f} B'} | "
                 f"{'n/a' if pk_f is None else f'{pk_f:.0f} B'} | {fmt_ratio(ratio(pk_f, pk_r))} |")
    lines.append("")
    lines.append("Targets of issue 7:")
    lines.append("")
    for line in targets(med, memory, errors):
        lines.append(f"- {line}")
    return "\n".join(lines) + "\n", med


def targets(med, memory, errors):
    out = []

    def check(name, value, bound, what):
        if value is None:
            out.append(f"MISS {name} (not measured)")
        else:
            out.append(f"{'PASS' if value >= bound else 'MISS'} {name}: {value:.2f} {what}")

    for w in ("GET", "SET"):
        for p in (1, 16):
            check(f"{w} P{p} ferrite/redis ≥ 1.0", ratio(med.get((w, p, "ferrite")), med.get((w, p, "redis"))),
                  1.0, "×")
    rl = "rate_limit (FCALL / WASM.CALL)"
    check("rate_limit P16 WASM.CALL/FCALL ≥ 2.0",
          ratio(med.get((rl, 16, "ferrite")), med.get((rl, 16, "redis"))), 2.0, "×")
    check("rate_limit P16 WASM.CALL / ferrite GET P16 ≥ 0.6",
          ratio(med.get((rl, 16, "ferrite")), med.get(("GET", 16, "ferrite"))), 0.6, "×")
    um = ratio(memory.get("ferrite", {}).get("used_memory"), memory.get("redis", {}).get("used_memory"))
    if um is None:
        out.append("MISS memory ferrite/redis used_memory ≤ 1.2 (not measured)")
    else:
        out.append(f"{'PASS' if um <= 1.2 else 'MISS'} memory ferrite/redis used_memory ≤ 1.2: {um:.2f} ×")
    out.append("PASS no errors in any run" if not errors else f"MISS no errors in any run: {len(errors)} error(s)")
    return out


def write_docs(block):
    try:
        with open(DOCS_PATH) as f:
            text = f.read()
    except OSError as exc:
        return f"cannot read {DOCS_PATH}: {exc}"
    begin, end = text.find(MARK_BEGIN), text.find(MARK_END)
    if begin < 0 or end < begin:
        return f"{DOCS_PATH} has no {MARK_BEGIN} ... {MARK_END} block"
    text = text[:begin + len(MARK_BEGIN)] + "\n" + block + text[end:]
    tmp = DOCS_PATH + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, DOCS_PATH)
    return None


def load_average():
    """The 1-minute load average: a benchmark on a busy machine says so."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return "?"


def capture(argv):
    try:
        return subprocess.run(argv, capture_output=True, timeout=20, cwd=ROOT).stdout.decode().strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def metadata(settings):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = capture(["git", "rev-parse", "--short=12", "HEAD"]) or "unknown"
    if capture(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += "-dirty"
    ferrite = commit
    if os.path.abspath(settings.ferrite_bin) != os.path.join(ROOT, "target", "release", "ferrite"):
        ferrite += f", binary {settings.ferrite_bin}"
    # "Redis server v=7.0.15 sha=... malloc=jemalloc-5.3.0 bits=64 build=..."
    version = dict(f.split("=", 1) for f in capture([settings.redis_bin, "--version"]).split() if "=" in f)
    redis_version = f"redis-server {version.get('v', '?')} ({version.get('malloc', '?')})"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{capture(['nproc'])} cores ({cpu or 'unknown cpu'}), Linux {capture(['uname', '-r'])}",
        "redis_version": redis_version,
        "ferrite": ferrite,
        "load_start": load_average(),
    }


def main():
    settings = Settings()
    table = workloads()
    if settings.workloads:
        table = [w for w in table if w.name.split(" ")[0].lower() in settings.workloads]
        if not table:
            sys.exit(f"bench: WORKLOADS={os.environ['WORKLOADS']!r} selects no workload")
    errors = []
    redis = Server(settings, "redis", settings.redis_bin, [])
    ferrite = Server(settings, "ferrite", settings.ferrite_bin, settings.ferrite_args)
    SERVERS.extend([redis, ferrite])

    def on_signal(signum, _frame):
        stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    meta = metadata(settings)
    print(f"bench: redis {' '.join(redis.binary.split())}, ferrite {settings.ferrite_bin}; "
          f"{settings.rounds} rounds, P1 {settings.requests_p1:,} / P16 {settings.requests_p16:,} "
          f"requests per run, {settings.clients} clients", flush=True)
    try:
        if settings.skip_memory:
            print("bench: SKIP_MEMORY=1, no memory phase", flush=True)
            memory = {}
        else:
            print(f"bench: memory ({settings.mem_keys:,} SETs, 8-byte values, P64) ...", flush=True)
            memory = memory_phase(settings, redis, ferrite, errors)
        for label in memory:
            m = memory[label]
            print(f"  {label}: dbsize {m['dbsize']}, used_memory {fmt_bytes(m['used_memory'])}, "
                  f"rss {fmt_bytes(m['used_memory_rss'])}, VmRSS {fmt_bytes(m['vm_rss'])}", flush=True)

        redis.start("tput")
        ferrite.start("tput")
        setup_redis_functions(redis.port)
        setup_ferrite_functions(settings, ferrite.port, table, errors)
        for w in table:
            for label, reason in w.unavailable.items():
                print(f"bench: {w.name} on {label}: not available: {reason}", flush=True)
        print("bench: throughput ...", flush=True)
        runs, run_errors = throughput_phase(settings, redis, ferrite, table, errors)
    except (RuntimeError, OSError) as exc:
        stop_all()
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        stop_all()

    report, med = build_report(settings, table, runs, run_errors, memory, errors, meta)
    print()
    print(report)
    raw_path = os.path.join(ROOT, "target", "bench", "last-run.json")
    os.makedirs(os.path.dirname(raw_path), exist_ok=True)
    with open(raw_path, "w") as f:
        json.dump({"meta": meta, "runs": [[*k, v] for k, v in runs.items()],
                   "run_errors": [[*k, v] for k, v in run_errors.items()],
                   "memory": memory, "errors": errors}, f, indent=1)
    print(f"bench: raw results in {os.path.relpath(raw_path, ROOT)}")
    if settings.write_docs:
        err = write_docs(report)
        if err:
            errors.append(err)
            print(f"bench: {err}", file=sys.stderr)
        else:
            print(f"bench: wrote the table into {os.path.relpath(DOCS_PATH, ROOT)}")
    else:
        print("bench: WRITE_DOCS=0, docs/benchmarks.md left unchanged")

    unavailable = [f"{w.name} on {label}: {reason}" for w in table for label, reason in w.unavailable.items()]
    for e in errors:
        print(f"bench: error: {e}", file=sys.stderr)
    if unavailable and not settings.skip_wasm:
        print("bench: WASM workloads not available (set SKIP_WASM=1 to accept):", file=sys.stderr)
        for u in unavailable:
            print(f"  {u}", file=sys.stderr)
    if errors or (unavailable and not settings.skip_wasm):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
