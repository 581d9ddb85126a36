"""Bounds on everything launchbuild reads from a job, an operator file or a server.

One small, dependency-free module (yaml is imported only inside `load_yaml`) so that every
parser of job or operator input applies the same caps:

- `read_bounded`: a regular file only (a FIFO or device is refused without blocking), at most
  `cap` bytes, and every OS failure one `BadInput` line.
- `load_json` / `load_toml` / `load_yaml`: size and nesting caps, checked with iterative walks;
  huge integers, lone surrogates and YAML aliases (the "billion laughs" bomb) are refused.
- `one_line` / `clip`: what a message may print: control characters escaped, so a value with
  a newline cannot forge a second line, and a length cap with an ellipsis.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Callable

from launchbuild.errors import (  # noqa: F401  (the message bounds live with the errors that print them)
    ELLIPSIS, MAX_MESSAGE, MAX_VALUE, BadInput, clip, one_line, printable,
)

KIB = 1024
MIB = 1024 * KIB

MAX_DOC_BYTES = 4 * MIB  # a job spec, queue config, run metadata, TOML or YAML file
MAX_DEPTH = 64  # nesting of JSON/TOML/YAML values; real files use well under 10
MAX_TREE_DEPTH = 128  # directory levels in a code tree or an archive member's path
MAX_MANIFEST_BYTES = 4 * MIB
MAX_CONFIG_BYTES = 16 * MIB
MAX_BLOB_BYTES = 8 * 1024 * MIB  # one layer; a CUDA devel layer is ~4 GB
MAX_CA_BUNDLE_BYTES = 16 * MIB  # a system bundle is ~200 KB
MAX_UPLOAD_BYTES = 512 * MIB  # a build context or a code archive sent anywhere


# --- files ----------------------------------------------------------------------------------


def read_bounded(path: Path | str, what: str, cap: int = MAX_DOC_BYTES) -> bytes:
    """The bytes of a regular file of at most `cap` bytes; anything else is one BadInput line.

    Opened non-blocking and checked with fstat before any read, so a FIFO, a socket or
    /dev/zero is refused at once instead of hanging or filling memory.
    """
    shown = clip(str(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BadInput(f"{what} {shown}: not found", hint="check the path") from None
    except OSError as exc:
        raise BadInput(f"{what} {shown}: cannot be read ({_reason(exc)})", hint="check the path and permissions") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{what} {shown}: is {_kind(info.st_mode)}, not a regular file", hint="pass a regular file")
        if info.st_size > cap:
            raise BadInput(f"{what} {shown}: is {info.st_size} bytes, over the limit of {cap}", hint="pass a smaller file")
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = os.read(fd, min(1 * MIB, cap + 1 - size))
            except OSError as exc:
                raise BadInput(f"{what} {shown}: cannot be read ({_reason(exc)})", hint="check the file") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:  # it grew while we read it
                raise BadInput(f"{what} {shown}: is over the limit of {cap} bytes", hint="pass a smaller file")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def decode_text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 text (invalid byte at offset {exc.start})", hint="save the file as UTF-8") from None


def read_text_bounded(path: Path | str, what: str, cap: int = MAX_DOC_BYTES) -> str:
    return decode_text(read_bounded(path, what, cap), f"{what} {clip(str(path))}")


# --- structured documents -----------------------------------------------------------------------


def check_tree(value: Any, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Refuse nesting deeper than `max_depth`; replace lone surrogates in strings (U+FFFD).

    Iterative, so the check itself cannot overflow the stack. Returns the (cleaned) value.
    """
    root = [value]
    stack: list[tuple[Any, Any, int]] = [(root, 0, 0)]
    while stack:
        parent, key, depth = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            if _SURROGATE.search(item):
                parent[key] = _SURROGATE.sub("\ufffd", item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            raise BadInput(f"{where}: nested more than {max_depth} levels deep", hint="flatten the file")
        if isinstance(item, dict):
            if any(isinstance(k, str) and _SURROGATE.search(k) for k in item):
                item = {(_SURROGATE.sub("\ufffd", k) if isinstance(k, str) else k): v for k, v in item.items()}
                parent[key] = item
            stack.extend((item, k, depth + 1) for k in item)
        else:
            stack.extend((item, i, depth + 1) for i in range(len(item)))
    return root[0]


_SURROGATE = re.compile("[\ud800-\udfff]")


def load_json(text: str | bytes, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """JSON with every failure as one BadInput line: syntax, depth, over-long integers."""
    if isinstance(text, bytes):
        text = decode_text(text, where)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                       hint="fix the JSON syntax") from None
    except RecursionError:
        raise BadInput(f"{where}: nested more than {max_depth} levels deep", hint="flatten the file") from None
    except ValueError as exc:  # e.g. an integer over 4300 digits
        raise BadInput(f"{where}: malformed JSON ({_value_error(exc)})", hint="fix the value") from None
    return check_tree(value, where, max_depth=max_depth)


def _value_error(exc: Exception) -> str:
    text = str(exc)
    if "digits" in text and "integer" in text:
        return f"a number with more than {sys.get_int_max_str_digits() or 4300} digits"
    return clip(text, 80)


def load_toml(text: str | bytes, where: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    if isinstance(text, bytes):
        text = decode_text(text, where)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10 only
        import tomli as tomllib
    if _bracket_depth(text) > max_depth:
        raise BadInput(f"{where}: nested more than {max_depth} levels deep", hint="flatten the file")
    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where} is not valid TOML: {clip(str(exc), 120)}", hint="fix the TOML syntax") from None
    except RecursionError:
        raise BadInput(f"{where}: nested more than {max_depth} levels deep", hint="flatten the file") from None
    except ValueError as exc:  # an integer over 4300 digits
        raise BadInput(f"{where}: invalid TOML value ({_value_error(exc)})", hint="fix the value") from None
    return check_tree(value, where, max_depth=max_depth)


def _bracket_depth(text: str) -> int:
    """An upper bound of the bracket nesting, strings included: cheap, and never recursive.

    Brackets inside strings count too, so a string full of '[' can only be refused, never
    let through; the cap is far above what any real file nests.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for m in re.finditer(r"[\[\]{}\n]", text):
        ch = m.group(0)
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "\n":
            continue
        elif depth:
            depth -= 1
    return deepest


class _Refused(Exception):
    pass


def _safe_loader() -> type:
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader without aliases, and with a nesting cap checked as nodes are composed."""

        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _Refused("YAML aliases (*name) are not allowed")
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return BoundedLoader


_LOADER: list[type] = []


def load_yaml(text: str | bytes, where: str) -> Any:
    import yaml

    if isinstance(text, bytes):
        text = decode_text(text, where)
    if not _LOADER:
        _LOADER.append(_safe_loader())
    loader = None
    try:
        loader = _LOADER[0](text)  # the reader already refuses some characters here
        value = loader.get_single_data()
    except _Refused as exc:
        raise BadInput(f"{where}: {exc}", hint="write the values out in full") from None
    except yaml.YAMLError as exc:
        first = (str(exc).splitlines() or ["syntax error"])[0]
        raise BadInput(f"{where} is not valid YAML: {clip(first, 120)}", hint="fix the syntax") from None
    except RecursionError:
        raise BadInput(f"{where}: nested more than {MAX_DEPTH} levels deep", hint="flatten the file") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a 5000-digit integer, a bad date
        raise BadInput(f"{where}: invalid YAML value ({_value_error(exc)})", hint="fix the value") from None
    finally:
        if loader is not None:
            loader.dispose()
    return check_tree(value, where)


def guarded(call: Callable[[], Any], where: str) -> Any:
    """Run a parser of foreign input; its own crash on deep or huge input becomes BadInput."""
    try:
        return call()
    except RecursionError:
        raise BadInput(f"{where}: nested too deeply", hint="flatten the input") from None


# --- directory trees --------------------------------------------------------------------------


def walk_tree(top: Path | str, where: str, *, max_depth: int = MAX_TREE_DEPTH):
    """`os.walk(top, followlinks=False)`, top-down, without recursion and with a depth cap.

    Yields (dirpath, dirnames, filenames) like os.walk; pruning `dirnames` in place works.
    A directory that cannot be listed, or a tree deeper than `max_depth`, is one BadInput
    line (os.walk would skip the first silently and overflow the stack on the second).
    """
    top = os.fspath(top)
    pending: list[tuple[str, int]] = [(top, 0)]
    while pending:
        dirpath, depth = pending.pop()
        if depth > max_depth:
            raise BadInput(f"{where}: more than {max_depth} directory levels deep (at {clip(os.path.relpath(dirpath, top))})",
                           hint="flatten the tree, or leave deep data out of the job")
        dirnames: list[str] = []
        filenames: list[str] = []
        try:
            with os.scandir(dirpath) as it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    (dirnames if is_dir else filenames).append(entry.name)
        except OSError as exc:
            raise BadInput(f"{where}: directory {clip(os.path.relpath(dirpath, top))} cannot be read ({_reason(exc)})",
                           hint="check its permissions, or leave it out of the job") from None
        dirnames.sort()
        filenames.sort()
        yield dirpath, dirnames, filenames
        # Reversed so the stack pops them in sorted order, as os.walk would visit them.
        pending.extend((os.path.join(dirpath, d), depth + 1) for d in reversed(dirnames))


# --- caches -----------------------------------------------------------------------------------

MAX_CACHE_ENTRY_BYTES = 64 * MIB


def read_cache_json(path: Path | str, cap: int = MAX_CACHE_ENTRY_BYTES) -> Any:
    """A cache entry's JSON, or None for anything unusable: absent, unreadable, not a regular
    file, over the cap, not JSON, too deep, a huge integer. A damaged cache is a miss, never
    an error and never the user's fault; callers still check the entry's shape."""
    try:
        text = read_bounded(path, "cache entry", cap).decode("utf-8")
        return check_tree(json.loads(text), "cache entry")
    except (BadInput, ValueError, RecursionError):
        return None


def write_output(path: Path | str, text: str, what: str, *, errors: str = "strict") -> None:
    """Write an operator's --output file (parents created); a path that cannot be written (a
    directory, a read-only place, a file as a parent, an empty name, a FIFO nobody reads) is
    one BadInput line, never a hang. A FIFO or /dev/stdout with a reader is written as usual."""
    target = Path(path)
    if not str(path) or not target.name:
        raise BadInput(f"--output {clip(str(path))!r} names no file", hint="pass a file path, e.g. -o report.json")
    try:
        data = text.encode("utf-8", errors)
    except UnicodeEncodeError:  # a lone surrogate: a non-UTF-8 byte in an argument or file name
        raise BadInput(f"the {what} would hold text that is not UTF-8 (a value passed with non-UTF-8 bytes)",
                       hint="pass the value as UTF-8") from None
    try:
        if not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        # O_NONBLOCK: opening a FIFO that no process reads fails (ENXIO) instead of blocking forever.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0), 0o666)
    except OSError as exc:
        reason = "a FIFO that no process reads" if exc.errno == errno.ENXIO else _reason(exc)
        raise BadInput(f"cannot write the {what} to {clip(str(target))}: {reason}",
                       hint="choose a writable --output") from None
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise BadInput(f"cannot write the {what} to {clip(str(target))}: {_reason(exc)}",
                       hint="choose a writable --output") from None
