"""The CLI's tables and JSON for `resolve`, `inspect`, `show` and `rules`: the presentation of
the values `launchbuild.api` returns (the API itself never prints).

Foreign text (image labels, job names, option values) goes through `report.plain`, never
markup. The check/build report has its own renderers in `report/formats/`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from launchbuild.limits import printable, write_output
from launchbuild.report.plain import add_plain_row, plain

if TYPE_CHECKING:
    from launchbuild.compat.catalog import Rule
    from launchbuild.compat.image_facts import ImageFacts
    from launchbuild.report.model import JobView
    from launchbuild.resolver.model import ResolveResult


# --- resolve -----------------------------------------------------------------------------------


def print_resolve(result: ResolveResult, *, output: Path | None, as_json: bool, verbose: bool) -> None:
    """The lock (or the JSON result) to stdout or `output`; findings and the summary to stderr."""
    from launchbuild.resolver.api import render_lock

    if as_json:
        from launchbuild.report.formats.json import environment_dict, finding_dict

        # The findings too (LB301, LB310, ...): a machine reading the document must see why the
        # command failed, or what it warns about beside a lock, as `check`'s report says it.
        document = {**(environment_dict(result) or {}), "findings": [finding_dict(f) for f in result.findings]}
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    else:
        text = render_lock(result) if result.lock else ""
    if output and not as_json and result.lock:
        write_output(output, text, "lock")
    elif output and as_json:
        write_output(output, text, "resolve result")
    else:
        sys.stdout.write(text)
    from rich.console import Console
    from rich.text import Text

    err = Console(stderr=True, highlight=False)

    def say(text: str) -> None:
        # Findings, paths and skip reasons quote the job's files (an environment.yml's conda
        # names, a cleaned line): never markup, and no control character reaches the terminal.
        err.print(plain(text))

    for f in result.findings:
        err.print(Text.assemble((f.rule, "bold red"), " ", printable(f.message)))
        if f.fix:
            say(f"  fix: {f.fix}")
    if verbose:
        from launchbuild.resolver.describe_inputs import input_lines

        if result.input_path:
            say(f"input: {result.input_path} ({result.input_kind})")
        for label, line in input_lines(result, verbose=True):
            say(f"  {label}: {line}")
        for path, why in result.skipped_inputs:
            say(f"  skipped {path}: {why}")
    if result.lock is None and result.input_kind == "none":
        say("no requirements found: requirements.txt, pyproject.toml, environment.yml or a frozen list")
    elif result.lock is not None and (verbose or output):
        say(f"locked {len(result.lock.packages)} packages from {result.input_path} for Python "
            f"{result.lock.target.python} on {result.lock.target.platform}"
            + (" (cache hit)" if result.cache_hit else ""))
        for action in result.cleaning:
            say(f"  {action.action}: {action.line} ({action.reason})")


# --- inspect -----------------------------------------------------------------------------------


def print_facts(facts: ImageFacts, *, as_json: bool) -> None:
    """An image's fact sheet: a table with where each fact came from, or its JSON."""
    from launchbuild.compat.facts.factcache import to_json

    if as_json:
        document = to_json(facts)
        # The image's ENV is left out, as in the check report's "image": private images carry
        # tokens there (HF_TOKEN, an index URL with its password); the facts read from it are kept.
        document.pop("env", None)
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=plain(facts.reference), title_justify="left", show_header=True)
    for col in ("fact", "value", "from"):
        table.add_column(col)
    rows = [
        ("provider", facts.provider, ""),
        ("digest", facts.digest or "?", "digest"),
        ("os", " ".join(x for x in (facts.os_id, facts.os_version, facts.os_codename) if x) or "?", "os_id"),
        ("debian compatible", _yes_no(facts.debian_compatible), "has_apt"),
        ("apt-get", _yes_no(facts.has_apt), "has_apt"),
        ("glibc", facts.glibc or "?", "glibc"),
        ("architecture", "/".join(x for x in (facts.architecture, facts.variant) if x) or "?", "architecture"),
        ("pythons", ", ".join(facts.pythons) or "none", "pythons"),
        ("apt pythons", ", ".join(facts.apt_pythons) if facts.apt_pythons is not None else "?", "apt_pythons"),
        ("cuda", facts.cuda_version or "-", "cuda_version"),
        ("cudnn", facts.cudnn_version or "-", "cudnn_version"),
        ("NVIDIA_REQUIRE_CUDA", facts.require_cuda or "-", "require_cuda"),
        ("nvcc", _yes_no(facts.has_nvcc), "has_nvcc"),
        ("end of life", "yes" if facts.end_of_life else "no", "end_of_life"),
    ]
    for name, value, fact in rows:
        add_plain_row(table, name, value, facts.source_of(fact) if fact else "")
    from launchbuild.compat.facts.image_env import label_rows

    for name, value, source in label_rows(facts):
        add_plain_row(table, name, value, source)  # image labels are foreign text, never markup
    console.print(table)


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


# --- show --------------------------------------------------------------------------------------


def print_job(view: JobView, *, as_json: bool, verbose: bool) -> None:
    """The job as understood: each setting, its value and where it came from."""
    if as_json:
        sys.stdout.write(json.dumps(view.data, indent=2, sort_keys=True) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=plain(f"job: {view.label}"), title_justify="left")
    for col in ("setting", "value", "from"):
        table.add_column(col)
    for key, value in _flatten(view.data):
        if isinstance(value, dict) and "origin" in value:
            shown = value.get("value")
            shown = " ".join(shown) if isinstance(shown, list) else str(shown)
            origin = value["origin"] + (f" ({value['detail']})" if value.get("detail") else "")
            add_plain_row(table, key, shown, origin)
        elif value is not None:
            add_plain_row(table, key, " ".join(value) if isinstance(value, list) else str(value), "")
    console.print(table)
    if verbose:
        from launchbuild.progress import RichProgress

        RichProgress(verbose=True).options(view.options)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "origin" not in value:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


# --- rules -------------------------------------------------------------------------------------


def rules_json(rules: Sequence[Rule]) -> str:
    """The catalog as JSON (`launchbuild rules --format json`, the service's /v1/rules)."""
    out = [{"id": r.id, "severity": r.severity.value, "title": r.title, "description": r.description,
            "help": r.help, "tags": list(r.tags), "produced_by": r.produced_by,
            "group": {"id": r.group.id, "title": r.group.title}, "docs": r.docs} for r in rules]
    return json.dumps(out, indent=2) + "\n"


def print_rules(rules: Sequence[Rule], *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(rules_json(rules))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="launchbuild rules", title_justify="left")
    for col in ("rule", "severity", "title", "fix"):
        table.add_column(col, overflow="fold")
    for r in rules:
        add_plain_row(table, r.id, r.severity.value, r.title, r.help)
    Console(highlight=False).print(table)
