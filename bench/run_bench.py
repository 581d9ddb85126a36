"""launchbuild vs W&B Launch's builder (issue 8), side by side on one Docker engine, in one run.

Both tools are driven end to end through their own entry points: ours is `python -m
launchbuild.cli build`; the peer is its own Launch builder (bench/peer_wandb.py, run in the
peer's venv, writes Dockerfile.wandb + context) followed by the same BuildKit build we use
(`DOCKER_BUILDKIT=1 docker build --network host`). Both start from the same base images
(bench/setup_bases.sh). Runs alternate A/B/A/B. Writes bench/results/peer.{md,json}.

    python bench/run_bench.py [--runs N] [--heavy-runs N] [--verdict-runs N] [--gpu-cap S]
                              [--jobs small,medium,frozen,medium-accel]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from launchbuild.bench.stats import Results, Row, Summary, from_json, write_results

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
JOBS_DIR = WORK / "jobs"
PEER_VENV = WORK / "peer-venv"
PEER_PY = PEER_VENV / "bin" / "python"
DOCKER = os.environ.get("LAUNCHBUILD_DOCKER", "/usr/bin/docker")
PYTHON = "3.11"
ACCELERATOR_BASE = "nvidia/cuda:12.1.1-runtime-ubuntu22.04"  # the CA variant of the cuda121 stand-in
BASES = {"python": "python:3.11-slim", "peer-python": "python:3.11-buster", "accelerator": ACCELERATOR_BASE}
TRAIN_PY = 'import sys\n\nprint("training on", sys.version)\n'
BUILD_ENV = {**os.environ, "DOCKER_BUILDKIT": "1"}
REGISTRY = os.environ.get("BENCH_REGISTRY", "127.0.0.1:5055")  # the local registry of scripts/testenv.sh
GPU_STACK = "torch\nnumpy\npyyaml\nrequests\n"  # torch from PyPI pulls its CUDA wheels (nvidia-*, triton)
REGISTRY_MEASURES = ("bytes pushed on dependency change", "bytes pushed on dependency change, share of the image",
                     "bytes a node holding the previous image must pull")


@dataclass(frozen=True)
class JobSpec:
    name: str
    requirements: str | None = None  # requirements.txt in the code dir
    frozen: str | None = None  # a run's package list (the peer's requirements.frozen.txt)
    accelerator: bool = False
    added_dependency: str = "tqdm"
    heavy: bool = False
    gpu: str | None = None
    registry: bool = False  # also push before and after the dependency change (issue 17's byte measures)
    runs: int | None = None  # rounds per tool when fixed for the job (the GPU stack: one)

    @property
    def dirname(self) -> str:
        # Our image repository is named after the code dir (launchbuild/<dir>).
        return f"lbbench-{self.name}"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, env=None, cwd=None, timeout: float | None = None) -> tuple[int, float, str]:
    """Run a command; returns (exit code, wall seconds, output). Exit code 124 on timeout."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, time.perf_counter() - start, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return 124, time.perf_counter() - start, out.decode(errors="replace") if isinstance(out, bytes) else str(out)


def docker(*args: str, check: bool = True) -> str:
    rc, _, out = run([DOCKER, *args])
    if check and rc != 0:
        raise SystemExit(f"bench: docker {' '.join(args)} failed: {out[-800:]}")
    return out


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref).strip())


def newest_image(repository: str) -> str:
    out = docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
    if not out:
        raise SystemExit(f"bench: no image in {repository}")
    return out[0]  # `docker images` lists newest first


def remove_images(repository: str) -> None:
    refs = docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
    if refs:
        docker("rmi", "-f", *refs, check=False)


def prune_build_cache() -> None:
    docker("builder", "prune", "-af")


# --- the two tools ------------------------------------------------------------------------------


class Tool:
    name: str

    def build(self, job: JobSpec, *, timeout: float | None = None) -> tuple[int, float, str]:
        raise NotImplementedError

    def repository(self, job: JobSpec) -> str:
        raise NotImplementedError


class Ours(Tool):
    name = "launchbuild"

    def command(self, job: JobSpec, verb: str = "build") -> list[str]:
        cmd = [sys.executable, "-m", "launchbuild.cli", verb, str(JOBS_DIR / job.dirname),
               "--python", PYTHON, "--entrypoint", "python train.py", "--quiet"]
        if job.frozen is not None:
            cmd += ["--frozen", str(JOBS_DIR / f"{job.dirname}.frozen.txt")]
        if job.accelerator:
            cmd += ["--base-image", ACCELERATOR_BASE]
        if job.gpu:
            cmd += ["--gpu", job.gpu, "--driver", "535.104.05"]
        return cmd

    def build(self, job, *, timeout=None):
        return run(self.command(job), cwd=WORK, timeout=timeout)

    def repository(self, job):
        return f"launchbuild/{job.dirname}"


class Peer(Tool):
    name = "W&B Launch"

    def build(self, job, *, timeout=None):
        """The agent's path: generate the context (its own code), then build it with BuildKit."""
        start = time.perf_counter()
        ctx = WORK / "peer-ctx" / job.name
        cmd = [str(PEER_PY), str(BENCH / "peer_wandb.py"), "--code", str(JOBS_DIR / job.dirname),
               "--runtime", PYTHON, "--entrypoint", "python train.py", "--job-name", job.dirname, "--out", str(ctx)]
        if job.frozen is not None:
            cmd += ["--frozen", str(JOBS_DIR / f"{job.dirname}.frozen.txt")]
        if job.accelerator:
            cmd += ["--accelerator-base-image", ACCELERATOR_BASE]
        rc, _, out = run(cmd, env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}, timeout=timeout)
        if rc != 0:
            return rc, time.perf_counter() - start, out
        generated = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
        left = None if timeout is None else max(1.0, timeout - (time.perf_counter() - start))
        rc, _, build_out = run(
            [DOCKER, "build", "--network", "host", "--progress", "plain", "-f", generated["dockerfile"],
             "-t", f"{self.repository(job)}:{generated['image_tag']}", generated["context_dir"]],
            env=BUILD_ENV, timeout=left,
        )
        return rc, time.perf_counter() - start, out + build_out

    def repository(self, job):
        return f"peer-bench/{job.dirname}"


# --- jobs -------------------------------------------------------------------------------------


def frozen_list(packages: str) -> str:
    """A run's package list as pins: what `pip list --format=freeze` would show after the run."""
    import uv

    proc = subprocess.run(
        [uv.find_uv_bin(), "pip", "compile", "-", "--python-version", PYTHON, "--no-header", "--no-annotate",
         "--no-python-downloads", "--quiet"],
        input=packages, capture_output=True, text=True, check=True,
    )
    return proc.stdout


def make_jobs() -> dict[str, JobSpec]:
    frozen = frozen_list("requests\nrich\n")
    tqdm_pin = next(line for line in frozen_list("tqdm\n").splitlines() if line.startswith("tqdm=="))
    return {
        "small": JobSpec("small", requirements="requests\nrich\n"),
        "medium": JobSpec("medium", requirements="numpy\npandas\nscikit-learn\n", heavy=True),
        "frozen": JobSpec("frozen", frozen=frozen, added_dependency=tqdm_pin),
        "medium-accel": JobSpec("medium-accel", requirements="numpy\npandas\nscikit-learn\n", accelerator=True,
                                heavy=True),
        # Issue 17: a real GPU stack (3-4 GB of wheels, downloaded again after each cold prune).
        "gpu-stack": JobSpec("gpu-stack", requirements=GPU_STACK, heavy=True, registry=True, runs=1),
    }


def write_job(job: JobSpec, *, added: bool = False, code_version: int = 0) -> None:
    code = JOBS_DIR / job.dirname
    if code.exists():
        shutil.rmtree(code)
    code.mkdir(parents=True)
    (code / "train.py").write_text(TRAIN_PY + "".join(f"# edit {i}\n" for i in range(code_version)))
    extra = f"{job.added_dependency}\n" if added else ""
    if job.requirements is not None:
        (code / "requirements.txt").write_text(job.requirements + extra)
    if job.frozen is not None:
        (JOBS_DIR / f"{job.dirname}.frozen.txt").write_text(job.frozen + extra)


def edit_code(job: JobSpec, version: int) -> None:
    with open(JOBS_DIR / job.dirname / "train.py", "a") as f:
        f.write(f"# edit {version}\n")


def add_dependency(job: JobSpec) -> None:
    target = (JOBS_DIR / f"{job.dirname}.frozen.txt") if job.frozen is not None else (
        JOBS_DIR / job.dirname / "requirements.txt")
    with open(target, "a") as f:
        f.write(f"{job.added_dependency}\n")


def must(result: tuple[int, float, str], what: str) -> float:
    rc, seconds, out = result
    if rc != 0:
        raise SystemExit(f"bench: {what} failed (exit {rc}):\n{out[-3000:]}")
    return seconds


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


def push_to_registry(tool: Tool, job: JobSpec, local_ref: str, tag: str):
    """Push `local_ref` as REGISTRY/<repo>:<tag> with plain `docker push` (both tools alike);
    returns (PushStats, manifest blobs), measured on the registry (builder/push_bytes.py)."""
    from launchbuild.builder import push_bytes

    remote = f"{REGISTRY}/{tool.repository(job)}:{tag}"
    docker("tag", local_ref, remote)
    had = push_bytes.blobs_before_push(remote)
    seconds = must(run([DOCKER, "push", remote]), f"push of {remote}")
    blobs = push_bytes.manifest_blobs(remote)
    if had is None or blobs is None:
        raise SystemExit(f"bench: the registry at {REGISTRY} did not answer for {remote}")
    pushed = push_bytes.stats(blobs, had)
    log(f"{tool.name:11} {job.name:13} push {tag}: {pushed.describe()} in {seconds:.1f}s")
    return pushed, blobs


def registry_measures(tool: Tool, job: JobSpec, previous) -> dict[str, float]:
    """After a dependency change: bytes the push sends, and bytes a node with the previous image pulls."""
    from launchbuild.builder import push_bytes

    pushed, blobs = push_to_registry(tool, job, newest_image(tool.repository(job)), "next")
    return {
        REGISTRY_MEASURES[0]: pushed.bytes_sent,
        REGISTRY_MEASURES[1]: pushed.bytes_sent / pushed.image_bytes,
        REGISTRY_MEASURES[2]: push_bytes.pull_bytes(blobs, previous[1]),
    }


def clean_up(tool: Tool, job: JobSpec) -> None:
    """A GPU-stack image is ~7 GB: drop this tool's images (local and registry tags) before the next."""
    remove_images(tool.repository(job))
    remove_images(f"{REGISTRY}/{tool.repository(job)}")
    for tag in ("previous", "next"):
        delete_manifest(f"{tool.repository(job)}", tag)


def delete_manifest(repository: str, tag: str) -> None:
    """Drop the tag's manifest from the registry (its config enables deletes); blobs stay until GC."""
    import urllib.request

    accept = "application/vnd.docker.distribution.manifest.v2+json"
    base = f"http://{REGISTRY}/v2/{repository}/manifests"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(f"{base}/{tag}", method="HEAD", headers={"Accept": accept}),
                         timeout=10) as resp:
            digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            opener.open(urllib.request.Request(f"{base}/{digest}", method="DELETE"), timeout=10).close()
    except OSError as exc:
        log(f"could not delete {repository}:{tag} from the registry: {exc}")


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
        for measure in ("cold build", "code-only rebuild", "no-change rebuild", "dependency change"):
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


REGISTRY_NOTES = {
    REGISTRY_MEASURES[0]: ("compressed bytes of the blobs the registry did not hold before `docker push` of the "
                           "dependency change (the previous image was pushed to the same repository first); "
                           "from the registry's manifests and HEAD blob requests"),
    REGISTRY_MEASURES[2]: "compressed bytes of the new manifest's blobs that the previous image's manifest lacks",
}


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
        info["measured_this_run"] = [] if args.skip_builds else [j for j in args.jobs.split(",") if j]
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
