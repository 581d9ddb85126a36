"""Benchmark: `launchbuild resolve` (the resolver API end to end) vs plain `uv pip compile`
vs `pip-compile`, on the same input, cold (fresh caches) and warm.

Writes bench/results/resolve.{md,json}. Usage: python bench/bench_resolve.py [--runs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from launchbuild.jobs.model import CodeSource, Job
from launchbuild.core.sourced import Origin, Sourced
from launchbuild.resolver.api import ResolveOptions, resolve
from launchbuild.resolver.backends import backend_env

REQUIREMENTS = "requests\nrich\ntyper\nnumpy\npandas\n"  # the input of the reference study
CLI = "launchbuild resolve (CLI, new process)"
API = "launchbuild API resolve() + index facts (in process)"
RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import uv

    uv_bin = uv.find_uv_bin()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    src = work / "src"
    src.mkdir()
    (src / "requirements.txt").write_text(REQUIREMENTS)
    job = Job(source=CodeSource(src))
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    results: dict[str, dict[str, list[float]]] = {}

    def bench(name: str, prepare_cold, body) -> None:
        cold, warm = [], []
        for i in range(args.runs):
            caches = prepare_cold(i)
            cold.append(timed(lambda caches=caches: body(caches)))
            warm.append(timed(lambda caches=caches: body(caches)))
        results[name] = {"cold": cold, "warm": warm}

    def fresh(i: int) -> Path:
        d = work / f"cache-{len(results)}-{i}"
        d.mkdir()
        return d

    def launchbuild(cache: Path) -> None:
        os.environ["UV_CACHE_DIR"] = str(cache / "uv")
        result = resolve(src, job, ResolveOptions(cache_dir=cache / "lb", python=Sourced(py, Origin.FLAG)))
        assert result.lock is not None and result.lock.packages

    def launchbuild_cli(cache: Path) -> None:
        # The command a user runs, end to end in a new process: start-up, job, lock, write.
        env = os.environ | {"UV_CACHE_DIR": str(cache / "uv"), "LAUNCHBUILD_CACHE_DIR": str(cache / "lb")}
        run([sys.executable, "-m", "launchbuild.cli", "resolve", str(src), "--python", py,
             "-o", str(cache / "lock.txt")], env, src)

    def uv_compile(cache: Path) -> None:
        env = backend_env() | {"UV_CACHE_DIR": str(cache / "uv")}
        run([uv_bin, "pip", "compile", "requirements.txt", "-o", str(cache / "out.txt"), "--no-config", "--quiet",
             "--generate-hashes", "--python-version", py, "--python-platform", "x86_64-manylinux_2_28",
             "--no-python-downloads"], env, src)

    def pip_compile(cache: Path) -> None:
        env = backend_env() | {"PIP_CACHE_DIR": str(cache / "pip")}
        run([sys.executable, "-m", "piptools", "compile", "requirements.txt", "-o", str(cache / "out.txt"),
             "--quiet", "--generate-hashes", "--cache-dir", str(cache / "piptools")], env, src)

    old_uv_cache = os.environ.get("UV_CACHE_DIR")
    try:
        bench(CLI, fresh, launchbuild_cli)
        bench(API, fresh, launchbuild)
        bench("uv pip compile", fresh, uv_compile)
        bench("pip-compile", fresh, pip_compile)
    finally:
        if old_uv_cache is None:
            os.environ.pop("UV_CACHE_DIR", None)
        else:
            os.environ["UV_CACHE_DIR"] = old_uv_cache
        shutil.rmtree(work, ignore_errors=True)

    def summary(xs: list[float]) -> dict[str, float]:
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}

    table = {name: {phase: summary(xs) | {"runs": xs} for phase, xs in r.items()} for name, r in results.items()}
    lb = table[CLI]
    uvr = table["uv pip compile"]
    pip = table["pip-compile"]
    # ours / peer, lower is better (issue 8's target: warm resolve <= 1.2x raw uv).
    ratios = {
        "launchbuild resolve / uv pip compile, cold": lb["cold"]["median"] / uvr["cold"]["median"],
        "launchbuild resolve / uv pip compile, warm (target <= 1.2)": lb["warm"]["median"] / uvr["warm"]["median"],
        "launchbuild resolve / pip-compile, cold": lb["cold"]["median"] / pip["cold"]["median"],
        "launchbuild resolve / pip-compile, warm": lb["warm"]["median"] / pip["warm"]["median"],
    }
    info = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "versions": {k: metadata.version(k) for k in ("uv", "pip-tools", "pip")},
        "input": REQUIREMENTS.split(),
        "runs": args.runs,
        "note": ("cold = fresh uv/pip/launchbuild cache dirs; warm = same dirs, immediately after. "
                 "Every command runs as a new process except the API row, which calls resolve() in "
                 "process and also fetches the index facts `check` uses (PyPI JSON per locked "
                 "package); launchbuild warm is a lock-cache hit."),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "resolve.json").write_text(json.dumps({"info": info, "results": table, "ratios": ratios}, indent=2) + "\n")
    lines = [
        "# Resolve benchmark", "",
        f"- date: {info['date']}", f"- machine: {info['machine']}", f"- Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- input: `{' '.join(info['input'])}`, target Python {py} linux/amd64; {args.runs} runs each",
        f"- {info['note']}", "",
        "| command | cold median (min–max) s | warm median (min–max) s |", "|---|---|---|",
    ]
    for name, r in table.items():
        c, w = r["cold"], r["warm"]
        lines.append(f"| {name} | {c['median']:.3f} ({c['min']:.3f}–{c['max']:.3f}) | "
                     f"{w['median']:.3f} ({w['min']:.3f}–{w['max']:.3f}) |")
    lines += ["", "| ratio (medians) | value |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in ratios.items()]
    (RESULTS / "resolve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
