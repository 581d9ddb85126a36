"""Run the refresh sources and write data/*.json; `check` validates the tables offline.

Each source owns some tables (or some rows of one). Rows it cannot reach keep their existing
citation and are marked `"manual": true`, so docs/data.md and `--check` can tell measured rows
from copied ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import field
from pathlib import Path

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput, InfraUnavailable
from launchbuild.refresh import schema
from launchbuild.refresh.http import Fetcher

MANUAL_TABLES = {
    "cuda_drivers": ("toolkits", "minor_compat", "driver_branches", "gpu_minimum_driver"),
    "torch": ("releases", "builds"),
    "packages": ("packages", "needs_nvcc", "needs_compiler"),
}
# Wheels whose binaries carry the package's own kernels: measured by the `archs` source.
MEASURED = ("torch", "torchvision", "torchaudio", "xformers", "vllm", "bitsandbytes", "onnxruntime-gpu",
            "tensorflow", "jax-cuda12-plugin", "jax-cuda13-plugin", "flash-attn")


@dataclass
class Options:
    data_dir: Path
    fetcher: Fetcher
    today: str
    only: tuple[str, ...] = ()
    nvidia_dockerfiles: Path | None = None
    nvidia_origin: str | None = None
    source_dir: Path | None = None  # snapshots of upstream repositories (refresh/upstream.py)
    cpython_release_cycle: Path | None = None  # --cpython-releases: python-releases.toml or release-cycle.json
    cpython_origin: str | None = None
    budget_bytes: int = 4 * 1024 ** 3
    wheel_budget_bytes: int = 200 * 1024 ** 2
    packages: tuple[str, ...] = ()
    max_minors: int = 24
    measure_minors: int = 20
    libs_minors: int = 8  # wheel-libs: every final release of the newest 8 major.minor series
    libs_versions: int = 24
    log: Callable[[str], None] = print
    summary: list[str] = field(default_factory=list)


def load(data_dir: Path, table: str) -> dict:
    path = data_dir / f"{table}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise BadInput(f"{path}: not valid JSON ({exc}); restore it from git") from None


def save(data_dir: Path, table: str, doc: dict) -> None:
    path = data_dir / f"{table}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
    tmp.replace(path)


def _header(doc: dict, table: str, description: str, source, refresh: str, today: str) -> dict:
    out = {"table": table, "description": doc.get("description") or description, "source": source,
           "retrieved": today, "refresh": refresh}
    out.update({k: v for k, v in doc.items() if k not in out})
    return out


# ---- sources ------------------------------------------------------------------------------


def refresh_pypi(opts: Options) -> None:
    from launchbuild.refresh import pypi

    doc = load(opts.data_dir, "pypi_wheels")
    names = opts.packages or pypi.PACKAGES
    rows = [r for r in doc.get("wheels", []) if r["package"] not in names]
    for name in names:
        got = pypi.package_rows(opts.fetcher, name, opts.today, opts.max_minors)
        opts.log(f"pypi: {name}: {len(got)} rows")
        rows.extend(got)
    rows.sort(key=schema.ORDER["pypi_wheels"][0][1])
    doc = _header(doc, "pypi_wheels",
                  "Per package, the newest patch of each minor release and per machine: the CPython tags of its "
                  "Linux wheels, Requires-Python, and the CUDA its Requires-Dist pins for that machine (markers "
                  "evaluated), unconditionally ('cuda') and per extra ('extras_cuda').",
                  "https://pypi.org/simple/<name>/ (PEP 691 JSON) and each wheel's PEP 658 metadata (or its "
                  "METADATA read by HTTP range requests)", "launchbuild data refresh --only pypi", opts.today)
    doc["wheels"] = rows
    save(opts.data_dir, "pypi_wheels", doc)
    opts.summary.append(f"pypi_wheels: {len(rows)} rows")


def refresh_archs(opts: Options) -> None:
    from launchbuild.refresh import archs, wheelzip
    from launchbuild.refresh.http import UrlRange

    wheels = load(opts.data_dir, "pypi_wheels").get("wheels", [])
    doc = load(opts.data_dir, "wheel_archs")
    known = {r["sha256"]: r for r in doc.get("wheels", [])}
    total = wheelzip.Budget(opts.budget_bytes)
    names = opts.packages or MEASURED
    minors: dict[str, list[str]] = {}
    for r in wheels:
        if r["package"] in names:
            lst = minors.setdefault(r["package"], [])
            if r["version"] not in lst:
                lst.append(r["version"])
    keep = {p: set(sorted(v, key=schema._vkey, reverse=True)[:opts.measure_minors]) for p, v in minors.items()}
    measured = 0
    for r in wheels:
        if r["package"] not in keep or r["version"] not in keep[r["package"]]:
            continue
        old = known.get(r["sha256"])
        if old is not None and "cubins_a" not in old and archs.folded_nothing(old):
            old["cubins_a"], old["ptx_a"] = [], []
        if old is not None and (r["package"] not in archs.SELF_DESCRIBED or "method" in old) and (
                r["package"] not in archs.BUILD_INFO_MEMBERS or not old.get("member") or "build_versions" in old) \
                and "cubins_a" in old:
            continue  # measured already (rows from before arch-flags, build-version or sm_XXa reading are measured again)
        per_wheel = wheelzip.Budget(min(opts.wheel_budget_bytes, total.limit - total.used))
        try:
            m = archs.measure(UrlRange(opts.fetcher, r["url"]), per_wheel, package=r["package"])
        except (wheelzip.BudgetExceeded, wheelzip.BadZip) as exc:
            opts.log(f"archs: {r['wheel']}: not measured ({exc})")
            total.used += per_wheel.used
            continue
        total.used += per_wheel.used
        measured += 1
        known[r["sha256"]] = {
            "package": r["package"], "version": r["version"], "machine": r["machine"], "sha256": r["sha256"],
            "wheel": r["wheel"], **archs.row_fields(m),
            "source": f"{r['url']}#{m.member or 'no-cuda-code'} ({ {'arch-flags': 'CUDA_ARCH_FLAGS string', 'build-info': 'build_info.cuda_compute_capabilities'}.get(m.method, '.nv_fatbin') }; sha256 {r['sha256']}; tried {', '.join(m.tried) or 'nothing'})",
            "checked": opts.today,
        }
        if m.versions:
            known[r["sha256"]]["build_versions"] = dict(m.versions)
        opts.log(f"archs: {r['package']} {r['version']} {r['machine']}: {m.member} sm {list(m.cubins)} ptx {list(m.ptx)}"
                 + (f" arch-specific sm {list(m.cubins_a)} ptx {list(m.ptx_a)}" if m.cubins_a or m.ptx_a else ""))
        if total.used >= total.limit:
            opts.log("archs: byte budget spent; the rest stays unmeasured (run again to continue)")
            break
    by_sha = {r["sha256"]: r for r in wheels}
    for row in known.values():
        # Older rows: count the CUDA-named members from the zip directory alone (cheap), so a
        # "no CUDA code" result can be told apart from "the kernels are in a member not tried".
        if "cuda_named" not in row and row["sha256"] in by_sha:
            src = UrlRange(opts.fetcher, by_sha[row["sha256"]]["url"])
            row["cuda_named"] = archs.cuda_named(wheelzip.central_directory(src, wheelzip.Budget(64 * 2**20)))
    rows = sorted(known.values(), key=schema.ORDER["wheel_archs"][0][1])
    doc = _header(doc, "wheel_archs",
                  "GPU code measured in wheel binaries: the cubin SMs and PTX archs in the ELF .nv_fatbin of the "
                  "smallest CUDA shared object of the wheel that carries one (member null: no CUDA code found). "
                  "cubins_a and ptx_a are the architecture-specific ones (sm_100a), which run on exactly that "
                  "compute capability; cubins and ptx the others. "
                  "Keyed by the wheel's sha256.",
                  "the wheels themselves (files.pythonhosted.org), read by HTTP range requests",
                  "launchbuild data refresh --only archs (after --only pypi)", opts.today)
    doc["wheels"] = rows
    save(opts.data_dir, "wheel_archs", doc)
    opts.summary.append(f"wheel_archs: {len(rows)} rows ({measured} measured now, {total.used // 2**20} MiB read)")


def refresh_wheel_libs(opts: Options) -> None:
    from launchbuild.refresh import wheel_libs, wheelzip

    packages = load(opts.data_dir, "packages")
    names = [n for n in wheel_libs.measured_packages(packages) if not opts.packages or n in opts.packages]
    doc = load(opts.data_dir, "wheel_libs")
    run = wheel_libs.Run(opts.fetcher, opts.today, wheelzip.Budget(opts.budget_bytes), opts.wheel_budget_bytes, opts.log)
    rows = wheel_libs.refresh_rows(run, names, doc.get("wheels", []), opts.libs_minors, opts.libs_versions)
    # --package refreshes some packages: the others keep their rows
    rows = sorted([*rows, *(r for r in doc.get("wheels", []) if r["package"] not in names and
                            r["package"] in wheel_libs.measured_packages(packages))], key=wheel_libs.row_key)
    doc = _header(doc, "wheel_libs",
                  "Shared libraries each manylinux wheel ships (the *.so* basenames of its members, and the "
                  "library each is, canonical), for the packages data/packages.json says need an apt library; "
                  "keyed by sha256. apt_libraries: the library an apt package ships, by Debian's naming rule.",
                  ["https://pypi.org/simple/<name>/ (PEP 691 JSON)", "the wheels' zip central directories, read by "
                   "HTTP range requests", wheel_libs.DEBIAN_POLICY],
                  "launchbuild data refresh --only wheel-libs", opts.today)
    doc["apt_libraries"] = wheel_libs.apt_rows(packages, opts.today)
    doc["wheels"] = rows
    save(opts.data_dir, "wheel_libs", doc)
    opts.summary.append(f"wheel_libs: {len(rows)} wheels ({run.measured} measured now, {run.failed} not measured, "
                        f"{run.budget.used // 2**20} MiB read); {len(doc['apt_libraries'])} apt libraries")


def refresh_nvidia_images(opts: Options) -> None:
    from launchbuild.refresh.nvidia_images import Checkout, image_rows

    if opts.nvidia_dockerfiles is None:
        opts.summary.append("nvidia_cuda_images: skipped (no --nvidia-dockerfiles DIR); rows kept")
        return
    path = opts.nvidia_dockerfiles
    if not path.is_dir():
        raise BadInput(f"--nvidia-dockerfiles {path}: not a directory; pass a checkout of NVIDIA's container-images repository")
    origin = opts.nvidia_origin or path.name
    rows = image_rows(Checkout(path, origin), opts.today)
    if not rows:
        raise BadInput(f"--nvidia-dockerfiles {path}: no dist/<version>/<os>/base/Dockerfile found")
    doc = load(opts.data_dir, "nvidia_cuda_images")
    doc.pop("brand_order", None)
    doc = _header(doc, "nvidia_cuda_images",
                  "nvidia/cuda images per CUDA version, OS flavour and architecture: NVIDIA_REQUIRE_CUDA (its "
                  "cuda>= floor plus one brand clause per forward-compatibility driver branch, in 'brands' order), "
                  "LD_LIBRARY_PATH, and the cuDNN of the -cudnn- variant.",
                  f"gitlab.com/nvidia/container-images/cuda dist/ Dockerfiles, read from {origin}",
                  "launchbuild data refresh --only nvidia-images --nvidia-dockerfiles DIR", opts.today)
    doc["images"] = rows
    save(opts.data_dir, "nvidia_cuda_images", doc)
    opts.summary.append(f"nvidia_cuda_images: {len(rows)} rows")


def refresh_distros(opts: Options) -> None:
    from launchbuild.refresh import distros

    pydoc = load(opts.data_dir, "distro_pythons")
    gdoc = load(opts.data_dir, "distro_glibc")
    py_rows = {(r["id"], r["version"]): r for r in pydoc.get("distros", [])}
    g_rows = {(r["id"], r["version"]): r for r in gdoc.get("releases", [])}
    for rel in distros.RELEASES:
        p, g = distros.release_rows(opts.fetcher, rel, opts.today)
        py_rows[(rel.id, rel.version)] = p
        g_rows[(rel.id, rel.version)] = g
        opts.log(f"distros: {rel.id} {rel.version}: python {p['default']} (+{len(p['extra'])}), glibc {g['glibc']}")
    key = schema.ORDER["distro_pythons"][0][1]
    pydoc = _header(pydoc, "distro_pythons", "", "the releases' Packages indexes (see each row)",
                    "launchbuild data refresh --only distros", opts.today)
    pydoc["distros"] = sorted(py_rows.values(), key=key)
    gdoc = _header(gdoc, "distro_glibc", "", "the releases' Packages indexes (libc6), see each row",
                   "launchbuild data refresh --only distros", opts.today)
    gdoc["releases"] = sorted(g_rows.values(), key=key)
    _backfill(pydoc, ("distros",))
    _backfill(gdoc, ("releases",))
    save(opts.data_dir, "distro_pythons", pydoc)
    save(opts.data_dir, "distro_glibc", gdoc)
    opts.summary.append(f"distro_pythons: {len(py_rows)} rows; distro_glibc: {len(g_rows)} rows")


def refresh_cpython(opts: Options) -> None:
    from launchbuild.refresh.cpython import release_rows

    if opts.cpython_release_cycle is None:
        opts.summary.append("cpython: skipped (no --cpython-releases FILE); rows kept")
        return
    upstream, rows = release_rows(opts.cpython_release_cycle, opts.cpython_origin, opts.today)
    doc = load(opts.data_dir, "cpython")
    doc = _header(doc, "cpython", "CPython releases: first release and end of life (X.Y).",
                  f"{upstream.repo} {upstream.file}", "launchbuild data refresh --only cpython --cpython-releases FILE", opts.today)
    doc["releases"] = rows
    save(opts.data_dir, "cpython", doc)
    opts.summary.append(f"cpython: {len(rows)} rows")


def refresh_gpus(opts: Options) -> None:
    from launchbuild.refresh import gpus, upstream

    got = upstream.read(upstream.PCIIDS, opts.fetcher, opts.source_dir)
    rows, notes = gpus.gpu_rows(got.text, got.citation, opts.today)
    if not rows:
        raise BadInput(f"{got.citation}: no NVIDIA GPU on a known chip; is it pci.ids?")
    for note in notes:
        opts.log(note)
    doc = load(opts.data_dir, "gpus")
    carried = gpus.carried_rows(doc.get("gpus", []), rows)
    for row in carried:
        opts.log(f"gpus: '{row['name']}' is not in pci.ids; kept with its own citation (manual)")
    doc = _header(doc, "gpus", "", [got.citation, gpus.CHIP_CC_SOURCE, gpus.CLASS_SOURCE],
                  "launchbuild data refresh --only gpus [--source-dir DIR]", opts.today)
    doc["description"] = ("GPU model -> CUDA compute capability, from pci.ids (each marketing name, its chips and PCI "
                          "IDs) and the chip's compute capability. 'datacenter' is the forward-compatibility class "
                          "(true: Data Center GPUs and RTX PRO Server Editions; false: GeForce/Quadro/TITAN/RTX "
                          "workstation; null: unknown); Jetson rows carry forward_compat: true.")
    doc["gpus"] = rows + carried
    save(opts.data_dir, "gpus", doc)
    opts.summary.append(f"gpus: {len(rows)} rows from {got.citation}; {len(carried)} kept manual; {len(notes)} ambiguous names dropped")


def refresh_cuda_archs(opts: Options) -> None:
    from launchbuild.refresh import cuda_archs, upstream

    got = upstream.read(upstream.CMAKE_CUDA_ARCHS, opts.fetcher, opts.source_dir)
    try:
        rows = cuda_archs.arch_rows(got.text, got.citation, opts.today)
    except ValueError as exc:
        raise BadInput(f"{got.citation}: {exc}; update refresh/cuda_archs.py for the new file") from None
    doc = load(opts.data_dir, "cuda_archs")
    doc = _header(doc, "cuda_archs", "", [got.citation], "launchbuild data refresh --only cuda-archs [--source-dir DIR]", opts.today)
    doc["source"] = [got.citation]
    doc["description"] = ("CUDA toolkit (major.minor) -> SM architectures nvcc compiles offline (cubins), as CMake's "
                          "CUDA_ARCHITECTURES=all evaluates for nvcc. Rows apply from 'from' up to the next row.")
    doc["rows"] = rows
    save(opts.data_dir, "cuda_archs", doc)
    opts.summary.append(f"cuda_archs: {len(rows)} rows from {got.citation}")


def refresh_torch_builds(opts: Options) -> None:
    from launchbuild.refresh import torch_builds, upstream

    doc = load(opts.data_dir, "torch")
    variants = {r["torch"]: r["variants"] for r in doc.get("releases", [])}
    produced: dict[tuple[str, str], dict] = {}
    for minor, u in torch_builds.UPSTREAMS.items():
        if minor not in variants:
            continue
        got = upstream.read(u, opts.fetcher, opts.source_dir)
        try:
            rows = torch_builds.build_rows(got.text, minor, variants[minor], got.citation, opts.today)
        except ValueError as exc:
            raise BadInput(f"{got.citation}: {exc}; update refresh/torch_builds.py for it") from None
        produced.update({(r["torch"], r["variant"]): r for r in rows})
    kept = [b for b in doc.get("builds", []) if (b["torch"], b["variant"]) not in produced]
    doc["builds"] = sorted([*produced.values(), *kept], key=lambda b: (schema._vkey(b["torch"]), b["variant"]))
    save(opts.data_dir, "torch", doc)
    opts.summary.append(f"torch builds: {len(produced)} rows from pytorch/builder release branches; {len(kept)} kept")


def refresh_frameworks(opts: Options) -> None:
    from launchbuild.refresh import frameworks, pypi

    wheels = load(opts.data_dir, "pypi_wheels").get("wheels", [])
    archs = load(opts.data_dir, "wheel_archs").get("wheels", [])
    arch_rows = load(opts.data_dir, "cuda_archs").get("rows", [])
    if not wheels or not arch_rows:
        raise BadInput(f"{opts.data_dir}: frameworks needs pypi_wheels.json and cuda_archs.json; run --only pypi --only cuda-archs first")
    doc = load(opts.data_dir, "jax_cupy")
    doc = _header(doc, "jax_cupy", "", ["pypi_wheels.json", "wheel_archs.json", "cuda_archs.json"],
                  "launchbuild data refresh --only frameworks (after pypi, archs, cuda-archs)", opts.today)
    doc["description"] = ("JAX and CuPy GPU facts derived from the measured tables (refresh/frameworks.py): JAX's minimum "
                          "CC per CUDA major, plugin cuDNN floors, the CUDA minor of jaxlib +cudaNN builds; CuPy packages "
                          "and the lowest SM of their CUDA major.")
    doc["jax"] = frameworks.jax_section(pypi.PACKAGES, wheels, archs, opts.today)
    doc["cupy"] = frameworks.cupy_section(pypi.PACKAGES, wheels, arch_rows, opts.today)
    save(opts.data_dir, "jax_cupy", doc)
    releases, arch_lists = frameworks.tensorflow_tables(wheels, archs, opts.today)
    if releases:
        tf = load(opts.data_dir, "tensorflow")
        tf = _header(tf, "tensorflow", "", ["wheel_archs.json (build_info.py of each release's x86_64 wheel)", "pypi_wheels.json"],
                     "launchbuild data refresh --only frameworks (after pypi, archs)", opts.today)
        tf["description"] = ("TensorFlow release -> the CUDA and cuDNN its x86_64 wheel was built with (build_info.py; the "
                             "cuDNN minor from the [and-cuda] nvidia-cudnn pin, else only the major), its CPython range, "
                             "and the cubins/PTX it compiles (rows apply from 'from' on).")
        tf.pop("and_cuda", None)
        tf["releases"], tf["arch_lists"] = releases, arch_lists
        save(opts.data_dir, "tensorflow", tf)
        opts.summary.append(f"tensorflow: {len(releases)} releases, {len(arch_lists)} arch lists")
    torch = load(opts.data_dir, "torch")
    if torch.get("releases"):
        torch["releases"] = frameworks.torch_releases(torch["releases"], wheels, opts.today)
        save(opts.data_dir, "torch", torch)
        opts.summary.append(f"torch: {len(torch['releases'])} releases (Python range and PyPI default from PyPI)")
    opts.summary.append(f"jax_cupy: jax min CC by CUDA {doc['jax']['min_cc_by_cuda']}; {len(doc['cupy']['packages'])} cupy packages")


def _backfill(doc: dict, keys: tuple[str, ...]) -> int:
    """Rows without a source/date get the table's own citation and date, marked manual."""
    n = 0
    for key in keys:
        for row in doc.get(key, []):
            if not row.get("source"):
                row["source"] = doc["source"]
            if not row.get("checked"):
                row["checked"] = doc["retrieved"]
                row["manual"] = True
                n += 1
    return n


def refresh_manual(opts: Options) -> None:
    """Tables with no primary source reachable from here: values untouched; every row gets the
    table's citation and date, marked manual, so provenance is explicit per row."""
    for table, keys in MANUAL_TABLES.items():
        doc = load(opts.data_dir, table)
        n = _backfill(doc, keys)
        if n:
            save(opts.data_dir, table, doc)
        opts.summary.append(f"{table}: manual table, {n} rows given the table's citation")


SOURCES: dict[str, Callable[[Options], None]] = {
    "pypi": refresh_pypi,
    "archs": refresh_archs,
    "nvidia-images": refresh_nvidia_images,
    "distros": refresh_distros,
    "cpython": refresh_cpython,
    "gpus": refresh_gpus,
    "cuda-archs": refresh_cuda_archs,
    "torch-builds": refresh_torch_builds,
    "frameworks": refresh_frameworks,
    "wheel-libs": refresh_wheel_libs,
    "manual": refresh_manual,
}
UPSTREAM_SOURCES = ("gpus", "cuda-archs", "torch-builds")
TABLES = ("cuda_drivers", "cuda_archs", "gpus", "torch", "tensorflow", "jax_cupy", "distro_pythons",
          "distro_glibc", "nvidia_cuda_images", "packages", "pypi_wheels", "wheel_archs", "cpython",
          "conda_pypi", "wheel_libs")


def refresh(opts: Options) -> list[str]:
    unknown = [s for s in opts.only if s not in SOURCES]
    if unknown:
        raise BadInput(f"--only {unknown[0]}: no such source; known sources: {', '.join(SOURCES)}")
    for name in opts.only or tuple(SOURCES):
        try:
            SOURCES[name](opts)
        except InfraUnavailable as exc:
            # A full refresh keeps the tables of an upstream host it cannot reach (and says so);
            # asked for by name (--only), that source's failure is the command's (exit 3).
            if opts.only or name not in UPSTREAM_SOURCES:
                raise
            opts.summary.append(f"{name}: skipped, tables kept ({exc})")
    return opts.summary


# Tables the pipeline produces whole: a manual row there was typed in by hand (gpus.json keeps the
# models pci.ids cannot give, marked manual, but never a manual row with chips from pci.ids).
PRODUCED = {"cuda_archs": ("rows",), "tensorflow": ("releases", "arch_lists"), "gpus": ("gpus",)}


def check(data_dir: Path) -> list[str]:
    problems = []
    for table in TABLES:
        if not (data_dir / f"{table}.json").is_file():
            problems.append(f"{table}.json: missing from {data_dir}; run `launchbuild data refresh`")
            continue
        doc = load(data_dir, table)
        problems.extend(schema.check_table(table, doc))
        for key in PRODUCED.get(table, ()):
            for i, row in enumerate(doc.get(key, [])):
                if row.get("manual") and (table != "gpus" or row.get("chips")):
                    problems.append(f"{table}.json {key}/{i}: a manual row in a table the refresh produces; "
                                    f"run `launchbuild data refresh --only {'frameworks' if table == 'tensorflow' else table.replace('_', '-')}`")
    return problems
