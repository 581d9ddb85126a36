"""Warm-check latency and throughput of `launchbuild serve` vs the same check as new CLI processes.

    .venv/bin/python bench/bench_serve.py [--requests 400] [--out bench/results]

One job (train.py + requirements.txt, six==1.16.0) on the Python stand-in base, checked warm:
- through the server at 1, 4 and 16 concurrent clients (keep-alive connections, one thread
  each), once with the server's exact result cache (the default), once with it off
  (--check-cache-ttl 0: the full pipeline every time, in the check worker processes), and once
  with the cache on but every request different (its train.py differs, so its archive does):
  what a queue of new jobs sharing a base image and a requirement set costs;
- as `launchbuild check DIR --format json` new processes, 1, 4 and 16 at a time.
Bounded: a fixed number of requests per level (and CLI runs: 8, 8, 32). Needs the test engine
(scripts/testenv.sh up) and the package index once, to warm the lock cache.
Writes serve.json and serve.md under --out, with the server's CPU time per request (its own
and its check workers') and the machine's load average, since other work on the same cores
moves latency far more than it moves CPU time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers_serve import start_server, tar_gz  # noqa: E402

PYTHON_STANDIN = "launchbuild-test/python:3.11-slim"
LEVELS = (1, 4, 16)
CODE = {"train.py": "import six\nprint(six.__version__)\n", "requirements.txt": "six==1.16.0\n"}
OPTIONS = {"python": "3.11", "entrypoint": "python train.py", "python-base-image": PYTHON_STANDIN}
FLAGS = ["--python", "3.11", "--entrypoint", "python train.py", "--python-base-image", PYTHON_STANDIN]
TARGETS = {"p50_ms": 60.0, "p99_ms": 250.0, "throughput_ratio": 5.0}


def multipart(request: dict, archive: bytes) -> tuple[bytes, str]:
    boundary = "launchbench0123456789"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{json.dumps(request)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"source\"; filename=\"code.tar.gz\"\r\n"
            f"Content-Type: application/gzip\r\n\r\n").encode() + archive + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(latencies: list[float], elapsed: float) -> dict:
    return {"requests": len(latencies), "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
            "throughput_per_s": round(len(latencies) / elapsed, 1)}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live children (the check workers)."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(p: str) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return of(str(pid)) + sum(of(c) for c in children)


def load(url: str, headers: dict, body: bytes | list[bytes], content_type: str, clients: int, total: int,
         pid: int | None = None) -> dict:
    """`body`: one body for every request, or a list of at least `total` (each request its own)."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    lock = threading.Lock()
    bodies = iter(body) if isinstance(body, list) else None
    per_client = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        conn.connect()
        # http.client writes headers and body separately: without this, Nagle + delayed ACK
        # add 40 ms to every request, which is the client's cost, not the server's.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = []
        start.wait()
        for _ in range(n):
            if bodies is not None:
                with lock:
                    this = next(bodies)
            else:
                this = body
            t0 = time.perf_counter()
            conn.request("POST", "/v1/checks", body=this, headers={**headers, "Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                raise RuntimeError(f"check answered {response.status}: {data[:300]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
    for t in threads:
        t.start()
    start.wait()
    cpu0 = cpu_seconds(pid) if pid else 0.0
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    result = summary(latencies, time.perf_counter() - t0)
    if pid:
        result["server_cpu_ms_per_request"] = round((cpu_seconds(pid) - cpu0) / len(latencies) * 1000, 2)
    return result


def cli_level(job: Path, clients: int, runs: int) -> dict:
    exe = str(Path(sys.executable).with_name("launchbuild"))

    def one(_: int) -> float:
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "check", str(job), *FLAGS, "--format", "json"], capture_output=True,
                              env={**os.environ, "NO_COLOR": "1"})
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode()[-300:])
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, range(runs)))
    return summary(latencies, time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--baseline-python", type=Path, default=None,
                        help="the python of another install (e.g. the code before a change): its server is "
                             "measured uncached in the same run, as 'uncached (baseline)'")
    args = parser.parse_args()
    archive = tar_gz(CODE)
    body, content_type = multipart({"source": {"archive": "source"}, "options": OPTIONS}, archive)

    def unique(n: int, tag: str) -> list[bytes]:
        return [multipart({"source": {"archive": "source"}, "options": OPTIONS},
                          tar_gz({**CODE, "train.py": CODE["train.py"] + f"# {tag} {i}\n"}))[0] for i in range(n)]

    results: dict = {"job": "train.py + six==1.16.0 on " + PYTHON_STANDIN, "cores": os.cpu_count(),
                     "requests_per_level": args.requests, "targets": TARGETS, "server": {}, "cli": {},
                     "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_s:
        tmp = Path(tmp_s)
        job = tmp / "job"
        job.mkdir()
        for name, text in CODE.items():
            (job / name).write_text(text)
        modes = [("cached", (), None), ("uncached", ("--check-cache-ttl", "0"), None), ("new requests", (), None)]
        if args.baseline_python is not None:
            modes.insert(2, ("uncached (baseline)", ("--check-cache-ttl", "0"),
                             str(args.baseline_python.with_name("launchbuild"))))
            results["baseline"] = str(args.baseline_python)
        for mode, extra, exe in modes:
            (tmp / mode).mkdir()
            srv = start_server(tmp / mode, "--max-concurrent-checks", "2", "--check-queue-size", "64", *extra, exe=exe)
            try:
                fresh = mode == "new requests"
                # warm: lock cache, facts, imports, every check worker
                load(srv.url, srv.headers, unique(20, "warm") if fresh else body, content_type, 2, 20)
                results["server"][mode] = {
                    str(c): load(srv.url, srv.headers, unique(args.requests, f"level {c}") if fresh else body,
                                 content_type, c, args.requests, pid=srv.proc.pid)
                    for c in LEVELS}
            finally:
                srv.stop()
        cli_level(job, 1, 2)  # warm
        results["cli"] = {str(c): cli_level(job, c, runs) for c, runs in zip(LEVELS, (8, 8, 32))}
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    for mode in results["server"]:
        top = results["server"][mode]["16"]
        results["server"][mode]["ratio_vs_cli_at_16"] = round(top["throughput_per_s"] / results["cli"]["16"]["throughput_per_s"], 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "serve.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def markdown(r: dict) -> str:
    lines = [f"# launchbuild serve: warm check ({time.strftime('%Y-%m-%d')}, {r['cores']} cores)", "",
             f"Job: {r['job']}; {r['requests_per_level']} requests per level through `POST /v1/checks` "
             "(multipart: request + archive), keep-alive clients; CLI: `launchbuild check DIR --format json` "
             "as new processes. Load average (1, 5, 15 min) of the machine, shared with other work: "
             f"{r.get('load_average_at_start')} at the start, {r.get('load_average_at_end')} at the end."
             + (f" Baseline: the server of {r['baseline']}, in the same run." if r.get("baseline") else ""), "",
             "| path | clients | p50 | p99 | throughput | server CPU per request |", "|---|---|---|---|---|---|"]
    for mode, levels in r["server"].items():
        for c in map(str, LEVELS):
            s = levels[c]
            cpu = f"{s['server_cpu_ms_per_request']} ms" if "server_cpu_ms_per_request" in s else "-"
            lines.append(f"| server ({mode}) | {c} | {s['p50_ms']} ms | {s['p99_ms']} ms | {s['throughput_per_s']}/s "
                         f"| {cpu} |")
    for c in map(str, LEVELS):
        s = r["cli"][c]
        lines.append(f"| CLI, new process | {c} | {s['p50_ms']} ms | {s['p99_ms']} ms | {s['throughput_per_s']}/s | - |")
    t = r["targets"]
    lines += ["", f"Targets at 16 clients: p50 <= {t['p50_ms']:.0f} ms, p99 <= {t['p99_ms']:.0f} ms, "
              f"throughput >= {t['throughput_ratio']:.0f}x the CLI's."]
    for mode, levels in r["server"].items():
        s = levels["16"]
        met = s["p50_ms"] <= t["p50_ms"] and s["p99_ms"] <= t["p99_ms"] and levels["ratio_vs_cli_at_16"] >= t["throughput_ratio"]
        lines.append(f"- {mode}: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, {levels['ratio_vs_cli_at_16']}x the CLI "
                     f"-> {'met' if met else 'not met'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
