"""The server's operator config file (`launchbuild serve --config FILE`, else the CLI's default
location): read and validated once at start, then applied to every request's check and build.

It is the same file, read by the same `options.read_operator_config`, as `launchbuild check
--config`. The server keeps a snapshot of what it read (in its state dir), and every check
and build is run with that snapshot as their `config`, so the layering is the CLI's:
defaults < operator config < the job's own config (job options only) < the server's
LAUNCHBUILD_* environment < the request's options (job options only). A request can never
set an operator option (request.py refuses it), so those come from the operator alone.
Edits to the file take effect at the next start, and the cache and dedupe keys hold the
snapshot's digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from launchbuild.core.records import dataclass
from launchbuild.errors import BadInput

SNAPSHOT_NAME = "operator-config.toml"


@dataclass(frozen=True)
class OperatorConfig:
    """The operator config file as read at start: the snapshot every request's check and build
    reads, and its digest for the cache and dedupe keys."""

    snapshot: Path  # what every request's check/build reads as its operator config
    shown: str  # the operator's own file, as reports name it ("" when there is none)
    values: dict[str, Any]
    digest: str

    def unalias(self, text: str) -> str:
        """Reports name the operator's file, not the server's snapshot of it."""
        return text.replace(str(self.snapshot), self.shown or "operator config") if str(self.snapshot) in text else text


def _toml_value(value: Any) -> str:
    # Coerced option values are str, bool, int or a list of str: JSON spells each of them as
    # valid TOML (basic strings, arrays, true/false), with non-ASCII written as itself
    if isinstance(value, bool) or isinstance(value, int) or isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)):
        # ... except DEL, which JSON leaves bare and TOML forbids in a string.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    raise BadInput(f"operator config: a value of type {type(value).__name__} cannot be applied")  # pragma: no cover


def read(path: Path | None, environ: Any = None) -> tuple[dict[str, Any], str]:
    """Read `path` (else the default location) and validate every value: (values, how it is
    shown). Writes nothing, so `serve` runs it before it creates its state directory."""
    from launchbuild.options import default_operator_config, read_operator_config, resolve_options

    environ = os.environ if environ is None else environ
    chosen = path if path is not None else default_operator_config(environ)
    if chosen is None:
        return {}, ""
    table, shown = read_operator_config(chosen)
    options = resolve_options({}, env={}, operator_config=chosen)  # coerces: a bad type is BadInput now
    return {name: options[name] for name in table if options[name] is not None}, shown


def load(path: Path | None, state_dir: Path, environ: Any = None,
         read_values: tuple[dict[str, Any], str] | None = None) -> OperatorConfig:
    """Read `path` (else the default location), validate every value now (exit 2 at start,
    never per request), and write the snapshot the requests use. `read_values`: what `read`
    already answered."""
    from launchbuild.options import read_operator_config

    values, shown = read_values if read_values is not None else read(path, environ)
    text = "".join(f"{name} = {_toml_value(value)}\n" for name, value in sorted(values.items()))
    snapshot = (state_dir / SNAPSHOT_NAME).resolve()
    tmp = snapshot.with_name(snapshot.name + ".tmp")
    tmp.write_text("# launchbuild serve: the operator config it started with (" + (shown or "none") + ")\n" + text,
                   encoding="utf-8")
    os.replace(tmp, snapshot)
    back, _ = read_operator_config(snapshot)
    if back != values:  # pragma: no cover - the writer above and the reader disagree
        raise BadInput(f"operator config {shown}: could not be applied as written")
    return OperatorConfig(snapshot, shown, values, hashlib.sha256(text.encode()).hexdigest()[:16])
