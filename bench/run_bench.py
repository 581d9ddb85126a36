"""launchbuild vs W&B Launch's builder (issue 8), side by side on one Docker engine, in one run.

Both tools are driven end to end through their own entry points: ours is `python -m
launchbuild.cli build`; the peer is its own Launch builder (bench/peer_wandb.py, run in the
peer's venv, writes Dockerfile.wandb + context) followed by the same BuildKit build we use
(`DOCKER_BUILDKIT=1 docker build --network host`). Both start from the same base images
(bench/setup_bases.sh). Runs alternate A/B/A/B. Writes bench/results/peer.{md,json}.

This module measures and writes the results; the shared setup is in bench/harness.py, the
tools in bench/tools.py, the jobs in bench/bench_jobs.py and the registry's byte counts in
bench/registry_bytes.py.

    python bench/run_bench.py [--runs N] [--heavy-runs N] [--verdict-runs N] [--gpu-cap S]
                              [--jobs small,medium,frozen,medium-accel]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from importlib import metadata

from launchbuild.bench.bench_jobs import add_dependency, edit_code, make_jobs, write_job
from launchbuild.bench.harness import (
    ACCELERATOR_BASE,
    BASES,
    BENCH,
    DOCKER,
    JOBS_DIR,
    PEER_PY,
    PYTHON,
    REGISTRY,
    WORK,
    JobSpec,
    docker,
    image_size,
    log,
    must,
    newest_image,
    prune_build_cache,
    remove_images,
    run,
)
from launchbuild.bench.registry_bytes import (
    REGISTRY_MEASURES,
    REGISTRY_NOTES,
    clean_up,
    push_to_registry,
    registry_measures,
)
from launchbuild.bench.stats import Results, Row, Summary, from_json, write_results
from launchbuild.bench.tools import Ours, Peer, Tool


def build_sequence(tool: Tool, job: JobSpec, base_size: int) -> dict[str, float]:
    """Cold build, code-only rebuild, no-change rebuild, dependency change; plus image bytes."""
    write_job(job)
    remove_images(tool.repository(job))
    prune_build_cache()
    times: dict[str, float] = {}
    times["cold build"] = must(tool.build(job), f"{tool.name} cold build of {job.name}")
    image = newest_image(tool.repository(job))
    size = image_size(image)
    times["image size"] = size
    times["bytes added on top of the base"] = size - base_size
    if job.imports:
        times["job start: its imports in a new container"] = job_start(image, job.imports)
    edit_code(job, 1)
    times["code-only rebuild"] = must(tool.build(job), f"{tool.name} code-only rebuild of {job.name}")
    times["no-change rebuild"] = must(tool.build(job), f"{tool.name} no-change rebuild of {job.name}")
    previous = push_to_registry(tool, job, newest_image(tool.repository(job)), "previous") if job.registry else None
    add_dependency(job)
    times["dependency change"] = must(tool.build(job), f"{tool.name} dependency change of {job.name}")
    if previous is not None:
        times.update(registry_measures(tool, job, previous))
        clean_up(tool, job)
    log(f"{tool.name:11} {job.name:13} " + ", ".join(
        f"{k} {v * 100:.2f} %" if "share" in k else f"{k} {v / 1e6:.0f} MB" if "size" in k or "bytes" in k
        else f"{k} {v:.2f}s" for k, v in times.items()))
    return times


# Timed inside the container, so only the imports count (not the engine's container start).
_IMPORT_TIMER = "import time; t = time.perf_counter(); import {mods}; print('LBSTART', time.perf_counter() - t)"


def job_start(image: str, modules: tuple[str, ...], runs: int = 3) -> float:
    """Median seconds the job's imports take in a new container of the image, as every start
    of the job on a node pays them (a container never keeps what a previous one compiled)."""
    seconds = []
    for _ in range(runs):
        rc, _, out = run([DOCKER, "run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c",
                          _IMPORT_TIMER.format(mods=", ".join(modules))], timeout=300)
        line = next((ln for ln in out.splitlines() if ln.startswith("LBSTART ")), None)
        if rc != 0 or line is None:
            raise SystemExit(f"bench: importing {', '.join(modules)} in {image} failed:\n{out[-2000:]}")
        seconds.append(float(line.split()[1]))
    return sorted(seconds)[len(seconds) // 2]


def verdict_run(tool: Tool, job: JobSpec, cap: float) -> tuple[float, bool, str]:
    """Seconds until the tool says the job cannot work; (seconds, capped, how it ended)."""
    write_job(job)
    remove_images(tool.repository(job))
    if isinstance(tool, Peer):
        prune_build_cache()  # the peer's pip cache mount would otherwise hold the downloads
    rc, seconds, out = tool.build(job, timeout=cap)
    if rc == 124:
        return cap, True, f"stopped at the {cap:.0f} s cap, still building"
    if rc != 0:
        return seconds, False, f"build failed (exit {rc})"
    if isinstance(tool, Ours):
        raise SystemExit(f"bench: launchbuild built {job.name}, a job that cannot work:\n{out[-2000:]}")
    # The peer "succeeded": the problem shows only when the image runs.
    image = newest_image(tool.repository(job))
    rc, run_seconds, out = run([DOCKER, "run", "--rm", "--network", "none", image], timeout=max(1.0, cap - seconds))
    total = seconds + run_seconds
    if total >= cap:
        return cap, True, "built; stopped at the cap while running"
    return total, False, f"built; the run exited {rc}"


def summary_of(samples: list[dict[str, float]], key: str) -> Summary:
    return Summary.of([s[key] for s in samples])


def measure_builds(jobs: list[JobSpec], runs: int, heavy_runs: int) -> list[Row]:
    ours, peer = Ours(), Peer()
    base_sizes = {
        "ours": image_size(BASES["python"]), "peer": image_size(BASES["peer-python"]),
        "accel": image_size(ACCELERATOR_BASE),
    }
    rows: list[Row] = []
    for job in jobs:
        n = job.runs or (heavy_runs if job.heavy else runs)
        samples: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
        for i in range(n):  # A/B/A/B
            log(f"{job.name}: round {i + 1}/{n}")
            samples["ours"].append(build_sequence(ours, job, base_sizes["accel" if job.accelerator else "ours"]))
            samples["peer"].append(build_sequence(peer, job, base_sizes["accel" if job.accelerator else "peer"]))
        for measure in ("cold build", "code-only rebuild", "no-change rebuild", "dependency change") + (
                ("job start: its imports in a new container",) if job.imports else ()):
            rows.append(Row(job.name, measure, summary_of(samples["ours"], measure), summary_of(samples["peer"], measure)))
        for measure in ("image size", "bytes added on top of the base"):
            rows.append(Row(job.name, measure, summary_of(samples["ours"], measure), summary_of(samples["peer"], measure),
                            unit="B"))
        if job.registry:
            for measure in REGISTRY_MEASURES:
                rows.append(Row(job.name, measure, summary_of(samples["ours"], measure),
                                summary_of(samples["peer"], measure), unit="share" if "share" in measure else "B",
                                note=REGISTRY_NOTES.get(measure, "")))
    return rows


def measure_verdicts(runs: int, gpu_cap: float, peer_gpu_runs: int) -> list[Row]:
    ours, peer = Ours(), Peer()
    badpin = JobSpec("badpin", requirements="requests==99.0.0\n")
    gpu = JobSpec("gpu-mismatch", requirements="torch==2.0.1\n", gpu="H100")
    rows = []
    for job, measure, cap, peer_runs in ((badpin, "verdict: pin that does not exist", 600.0, runs),
                                         (gpu, "verdict: GPU/CUDA mismatch", gpu_cap, peer_gpu_runs)):
        ours_t, peer_t, peer_capped, endings = [], [], False, set()
        for i in range(max(runs, peer_runs)):
            if i < runs:
                seconds, _, _ = verdict_run(ours, job, cap)
                ours_t.append(seconds)
            if i < peer_runs:
                seconds, capped, ending = verdict_run(peer, job, cap)
                peer_t.append(seconds)
                peer_capped |= capped
                endings.add(ending)
            log(f"{job.name}: ours {ours_t}, peer {peer_t}")
        note = "peer: " + "; ".join(sorted(endings))
        if job is gpu:
            note += (f". torch 2.0.1 from PyPI is a CUDA 11.7 build without sm_90 kernels. The peer needs a GPU run"
                     f" of the built image to show it; its build downloads ~2 GB, so it is capped at {cap:.0f} s"
                     f" ({peer_runs} run) and counted as >= the cap")
        rows.append(Row(job.name, measure, Summary.of(ours_t), Summary.of(peer_t, capped=peer_capped), note=note))
    return rows


def measure_check(runs: int) -> list[Row]:
    job = JobSpec("small", requirements="requests\nrich\n")
    write_job(job)
    ours = Ours()
    cmd = ours.command(job, verb="check")
    must(run(cmd, cwd=WORK), "launchbuild check (warming)")
    cli = [must(run(cmd, cwd=WORK), "launchbuild check") for _ in range(runs)]
    # The same check in-process: what a queue agent embedding launchbuild pays per job.
    code = (
        "import time, sys\nfrom launchbuild import api\nfrom launchbuild.pipeline.request import JobRequest\n"
        "t = time.perf_counter()\n"
        f"api.check(JobRequest({str(JOBS_DIR / job.dirname)!r}, entrypoint='python train.py', "
        f"options={{'python': '{PYTHON}'}}))\n"
        "print(time.perf_counter() - t)\n"
    )
    inproc = []
    for _ in range(runs):
        rc, _, out = run([sys.executable, "-c", code], cwd=WORK)
        if rc != 0:
            log(f"in-process check failed: {out[-500:]}")
            break
        inproc.append(float(out.strip().splitlines()[-1]))
    rows = [Row("small", "warm check", Summary.of(cli), None,
                note="end to end: a new `python -m launchbuild.cli check` process each run, caches warm")]
    if inproc:
        rows.append(Row("small", "warm check, in-process api.check()", Summary.of(inproc), None,
                        note="the same check inside one Python process (interpreter start-up and imports excluded)"))
    return rows


def resolve_rows() -> list[Row]:
    path = BENCH / "results" / "resolve.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    res = data["results"]
    ours_key = next((k for k in res if k.startswith("launchbuild")), None)
    if ours_key is None or "uv pip compile" not in res:
        return []

    def s(key: str, phase: str) -> Summary:
        return Summary.of(res[key][phase]["runs"])

    note = f"from bench/results/resolve.json ({data['info'].get('date')}), input {' '.join(data['info'].get('input', []))}"
    rows = [Row("resolve", "warm resolve vs raw uv", s(ours_key, "warm"), s("uv pip compile", "warm"), note=note),
            Row("resolve", "cold resolve vs raw uv", s(ours_key, "cold"), s("uv pip compile", "cold"))]
    if "pip-compile" in res:
        rows.append(Row("resolve", "warm resolve vs pip-compile", s(ours_key, "warm"), s("pip-compile", "warm")))
    return rows


def merged_rows(old: tuple[Row, ...], new: list[Row]) -> list[Row]:
    """The old rows with each (job, measure) measured again replaced in place; new ones appended."""
    fresh = {(r.job, r.measure): r for r in new}
    out = [fresh.pop((r.job, r.measure), r) for r in old]
    return out + [r for r in new if (r.job, r.measure) in fresh]


def versions() -> dict[str, str]:
    def pkg(name: str, python: str = sys.executable) -> str:
        rc, _, out = run([python, "-c", f"from importlib import metadata; print(metadata.version({name!r}))"])
        return out.strip() if rc == 0 else "?"

    return {
        "launchbuild": metadata.version("launchbuild"),
        "wandb": pkg("wandb", str(PEER_PY)),
        "uv (host)": metadata.version("uv"),
        "docker engine": docker("version", "-f", "{{.Server.Version}}").strip(),
        "python": platform.python_version(),
    }


def with_gaps(results: Results) -> Results:
    """Attach, for each missed target, the explanation kept in bench/gaps.json (profile-based)."""
    gaps_path = BENCH / "gaps.json"
    gaps = json.loads(gaps_path.read_text()) if gaps_path.exists() else {}
    missed = sorted({r.measure for r in results.missed()})
    return Results(info=results.info, rows=results.rows,
                   gaps={m: gaps.get(m, "not yet explained: profile it (pyinstrument)") for m in missed})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="launchbuild vs W&B Launch's builder")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    parser.add_argument("--heavy-runs", type=int, default=int(os.environ.get("BENCH_HEAVY_RUNS", 2)))
    parser.add_argument("--verdict-runs", type=int, default=int(os.environ.get("BENCH_VERDICT_RUNS", 3)))
    parser.add_argument("--gpu-cap", type=float, default=float(os.environ.get("BENCH_GPU_CAP_S", 90)))
    parser.add_argument("--jobs", default="small,medium,frozen,medium-accel,gpu-stack")
    parser.add_argument("--skip-verdicts", action="store_true", help="builds only (verdict/check rows kept with --merge)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of results/<stem>.json that this run does not measure again")
    parser.add_argument("--skip-builds", action="store_true", help="verdicts, check and resolve only")
    parser.add_argument("--out-stem", default="peer")
    parser.add_argument("--rerender", action="store_true",
                        help="re-render results/<stem>.md from its JSON with the current bench/gaps.json")
    args = parser.parse_args(argv)
    if args.rerender:
        data = json.loads((BENCH / "results" / f"{args.out_stem}.json").read_text())
        md, _ = write_results(with_gaps(from_json(data)), BENCH / "results", stem=args.out_stem)
        print(md.read_text())
        return 0
    if not PEER_PY.exists():
        raise SystemExit("bench: the peer's venv is missing; run `make bench` (bench/setup.sh) first")
    started = time.perf_counter()
    JOBS_DIR.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs()
    selected = [jobs[name] for name in args.jobs.split(",") if name]
    rows: list[Row] = []
    if not args.skip_builds:
        rows += measure_builds(selected, args.runs, args.heavy_runs)
    if not args.skip_verdicts:
        rows += measure_verdicts(args.verdict_runs, args.gpu_cap, 1)
        rows += measure_check(5)
    # The jobs whose rows this run measured: the builds', the verdicts' and the warm check's
    # (resolve rows come from bench/results/resolve.json, dated there).
    measured = sorted({r.job for r in rows})
    rows += resolve_rows()
    previous_info: dict = {}
    if args.merge and (BENCH / "results" / f"{args.out_stem}.json").exists():
        old = from_json(json.loads((BENCH / "results" / f"{args.out_stem}.json").read_text()))
        rows = merged_rows(old.rows, rows)
        previous_info = dict(old.info)
    info = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "versions": versions(),
        "engine": "BuildKit (DOCKER_BUILDKIT=1 docker build --network host) for both tools",
        "runs": (f"{args.runs} per tool for small/frozen jobs, {args.heavy_runs} for medium jobs, "
                 f"{args.verdict_runs} for verdicts (peer GPU mismatch: 1, capped at {args.gpu_cap:.0f} s), "
                 f"5 for warm check; gpu-stack: 1 round per tool; alternating A/B/A/B"),
        "method": (
            "Each round: remove the tool's images for the job, `docker builder prune -af` (base images stay), "
            "cold build; append a comment to train.py, rebuild; rebuild unchanged; add one package, rebuild. "
            "Ours: `python -m launchbuild.cli build` (check, lock, build, verify; content-tag skip). "
            "Peer: wandb's Launch builder generates Dockerfile.wandb and its context (bench/peer_wandb.py), "
            "then the same BuildKit build. Base images: the stand-ins plus the CA bundle "
            "(bench/setup_bases.sh), tagged python:3.11{,-slim,-buster,-bookworm} and "
            f"{ACCELERATOR_BASE}. Our host-side lock cache is not cleared for cold builds; the peer has none. "
            "gpu-stack (torch, numpy, pyyaml, requests from PyPI: torch brings its nvidia-* CUDA wheels and "
            "triton; 1 round per tool): after the no-change rebuild each tool's image is pushed with plain "
            f"`docker push` to the local registry ({REGISTRY}) as :previous, after the dependency change as "
            ":next; bytes pushed and bytes a node must pull are read from the registry's manifests. The "
            "images and registry tags are removed after each tool's round."
        ),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    if previous_info:
        # A partial run: say which rows are new and where the others come from.
        info["measured_this_run"] = measured
        # Which run each job's rows come from: carried over from the merged file, then this run's.
        rows_from = dict(previous_info.get("rows_from") or {})
        for job in {r.job for r in rows}:
            rows_from.setdefault(job, previous_info.get("date"))
        rows_from.update({j: info["date"] for j in info["measured_this_run"]})
        info["rows_from"] = dict(sorted(rows_from.items()))
    md, js = write_results(with_gaps(Results(info=info, rows=tuple(rows))), BENCH / "results", stem=args.out_stem)
    log(f"wrote {md} and {js} in {info['wall_seconds']} s")
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
