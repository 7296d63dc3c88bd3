#!/usr/bin/env python3
"""`make bench`: the reporter at scale, measured, never asserted.

Starts the simulator's scale tenant (the walkthrough plus N entitlements) on loopback and
measures, per process (wait4's rusage: CPU, wall, peak RSS), medians of several runs:
  - the release CLI's 7-day report of every entitlement, written to a fresh folder;
  - the Lambda's scheduled run (yesterday plus the restated days) in one process
    (`bench-lambda`, the handler with a local folder for the bucket), into an empty folder
    and into a copy of a steady-state archive: the 90 days before those three, filled once
    by the CLI (`consumption --daily`) and kept under target/bench-archive/;
  - the Lambda binary's cold start: process start to its first `GET .../invocation/next`
    on a stand-in runtime API (this machine's architecture, not arm64);
  - the arm64 artefact `make build` leaves;
  - the floor under the CLI's report (`bench-floor`): the two big replies received and read
    as untyped JSON, and as many bytes as the report's CSV and JSON written and hashed.
Prints one Markdown table with the goals of issue 12 beside the numbers.
"""

import http.server
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.path.join(ROOT, "target")
CLI = os.path.join(TARGET, "release", "fortiflex-report")
LAMBDA_RUN = os.path.join(TARGET, "release", "bench-lambda")
LAMBDA_BIN = os.path.join(TARGET, "release", "fortiflex-lambda")
FLOOR = os.path.join(TARGET, "release", "bench-floor")
# The walkthrough partner's account: the scale tenant's entitlements are all in it.
ACCOUNT = "2321234"
ARTEFACT = os.path.join(TARGET, "lambda", "fortiflex-lambda", "bootstrap")
ENTITLEMENTS = int(os.environ.get("BENCH_ENTITLEMENTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(cmd, env):
    """Runs cmd to the end: (cpu s, wall s, peak RSS MiB), from wait4 for that process only."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def medians(cmd_for_run, env, runs=RUNS):
    samples = []
    for _ in range(runs):
        out = tempfile.mkdtemp(prefix="fortiflex-bench-")
        try:
            samples.append(measured(cmd_for_run(out), env))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))


ARCHIVE_DAYS = 90


def steady_archive(env):
    """The 90 stored days before the scheduled run's three, filled once (and reused while
    the Pacific date and the scale are the same): (folder, CPU s the fill took, or None)."""
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    first = today - timedelta(days=3 + ARCHIVE_DAYS)
    last = today - timedelta(days=4)
    folder = os.path.join(TARGET, "bench-archive", f"{ENTITLEMENTS}-{today.isoformat()}")
    done = os.path.join(folder, ".filled")
    if os.path.exists(done):
        return folder, None
    shutil.rmtree(os.path.dirname(folder), ignore_errors=True)
    os.makedirs(folder)
    print(f"filling the steady-state archive: {ARCHIVE_DAYS} days, {first} to {last} ...",
          file=sys.stderr)
    # The days before FortiFlex's 90 are still the simulator's (it keeps everything).
    fill_env = dict(env, FORTIFLEX_RETENTION_DAYS="3650")
    cpu, _, _ = measured([CLI, "consumption", "--daily", "--start", first.isoformat(),
                          "--end", last.isoformat(), "--out", folder], fill_env)
    # What the previous scheduled run leaves: the month's statement and its carried lines.
    program = env.get("BENCH_PROGRAM", "ELAVMS0000123456")
    more, _, _ = measured([CLI, "statement", "--month", last.strftime("%Y-%m"), "--program",
                           program, "--out", folder], env)
    cpu += more
    open(done, "w").close()
    return folder, cpu


def in_copy_of(archive, cmd_for_run):
    """cmd_for_run against a copy of `archive` (hard links: every write replaces a file)."""
    def run(out):
        shutil.rmtree(out)
        subprocess.run(["cp", "-al", archive, out], check=True)
        return cmd_for_run(out)
    return run


def report_bytes(env):
    """The bytes of one CLI report's CSV and JSON: what the floor writes."""
    out = tempfile.mkdtemp(prefix="fortiflex-bench-")
    try:
        measured([CLI, "consumption", "--days", "7", "--out", out], env)
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for folder, _, names in os.walk(out)
            for name in names
            if name.endswith((".csv", ".json")) and not name.endswith(".manifest.json")
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


def start_simulator():
    port = free_port()
    sim = subprocess.Popen(
        [CLI, "sim", "--scale", str(ENTITLEMENTS), "--port", str(port), "--retention-days", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env = dict(os.environ)
    for line in sim.stdout:
        if line.startswith("export "):
            for pair in line[len("export "):].split():
                key, _, value = pair.partition("=")
                env[key] = value
        if line.startswith("Ctrl-C"):
            break
    if "FORTIFLEX_API_URL" not in env:
        sim.kill()
        sys.exit("the simulator did not start")
    env.pop("RUST_LOG", None)
    return sim, env


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Just enough of the Lambda runtime API to see when the function asks for its first event."""

    first_next = None
    asked = threading.Event()

    def do_GET(self):
        if "/invocation/next" in self.path and not RuntimeApi.asked.is_set():
            RuntimeApi.first_next = time.perf_counter()
            RuntimeApi.asked.set()
        self.send_response(503)
        self.end_headers()

    def log_message(self, *_):
        pass


def cold_start_ms(runs=10):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "REPORT_BUCKET": "bench-bucket",
        "FORTIFLEX_SECRET_ID": "bench-secret",
    }
    samples = []
    for _ in range(runs):
        RuntimeApi.asked.clear()
        start = time.perf_counter()
        p = subprocess.Popen([LAMBDA_BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not RuntimeApi.asked.wait(10):
            p.kill()
            sys.exit("the Lambda binary never asked the runtime API for an event")
        samples.append((RuntimeApi.first_next - start) * 1000)
        p.kill()
        p.wait()
    server.shutdown()
    return statistics.median(samples)


def main():
    for path in (CLI, LAMBDA_RUN, LAMBDA_BIN, FLOOR):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run `make bench`, which builds it")
    sim, env = start_simulator()
    try:
        cli = medians(lambda out: [CLI, "consumption", "--days", "7", "--out", out], env)
        lam = medians(lambda out: [LAMBDA_RUN, out], env)
        archive, fill_cpu = steady_archive(env)
        steady = medians(in_copy_of(archive, lambda out: [LAMBDA_RUN, out]), env)
        written = report_bytes(env)
        floor = medians(lambda out: [FLOOR, ACCOUNT, str(written)], env)
    finally:
        sim.kill()
        sim.wait()
    cold = cold_start_ms()
    size = os.path.getsize(ARTEFACT) if os.path.exists(ARTEFACT) else None

    def ok(value, goal):
        return "met" if value <= goal else "missed"

    print(f"\n{ENTITLEMENTS} entitlements, medians of {RUNS} runs, "
          f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}\n")
    print("| measurement | CPU s | wall s | peak RSS MiB | goal | |")
    print("|---|---|---|---|---|---|")
    print(f"| CLI: 7-day report, CSV + JSON + manifest | {cli[0]:.2f} | {cli[1]:.2f} | {cli[2]:.0f} "
          f"| CPU ≤ 0.16 s, peak ≤ 50 MiB | {ok(cli[0], 0.16)}, {ok(cli[2], 50)} |")
    print(f"| floor under it: replies read untyped, {written / 1e6:.0f} MB written and hashed "
          f"| {floor[0]:.2f} | {floor[1]:.2f} | {floor[2]:.0f} | | no report costs less |")
    print(f"| Lambda: scheduled run (3 days), in process | {lam[0]:.2f} | {lam[1]:.2f} | {lam[2]:.0f} "
          f"| peak ≤ 64 MiB | {ok(lam[2], 64)} |")
    print(f"| Lambda: the same run, {ARCHIVE_DAYS} days stored before it | {steady[0]:.2f} | {steady[1]:.2f} "
          f"| {steady[2]:.0f} | CPU ≤ 1.3 × the empty archive's ({1.3 * lam[0]:.2f} s), peak ≤ 64 MiB "
          f"| {ok(steady[0], 1.3 * lam[0])}, {ok(steady[2], 64)} ({steady[0] / lam[0]:.2f}×) |")
    print(f"| Lambda: cold start to first event request | | {cold / 1000:.3f} | | ≤ 0.030 s | {ok(cold, 30)} |")
    if fill_cpu is not None:
        print(f"\n(the steady-state archive was filled by the CLI in {fill_cpu:.0f} CPU s; "
              f"kept in {os.path.relpath(archive, ROOT)})")
    if size is None:
        print("| arm64 artefact | | | | ≤ 12 MB | not built (`make build`) |")
    else:
        print(f"| arm64 artefact (`make build`) | | | {size / MIB:.1f} | ≤ 12 MB | "
              f"{ok(size, 12_000_000)} ({size} bytes) |")


if __name__ == "__main__":
    main()
