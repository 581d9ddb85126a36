"""Credential-free rendering of URLs and of text that may contain them.

Git remotes and index URLs often carry secrets (`https://user:token@host/...`,
`https://TOKEN@host/...`, `?access_token=...`). Everything we print goes through these
functions; they never raise, because they are called while reporting other errors.
"""

from __future__ import annotations

import re

MASK = "***"

# Query parameters that carry secrets in presigned / token-authenticated URLs.
_SECRET_PARAM = re.compile(
    r"(?i)^(?:.*token.*|.*secret.*|.*passw(?:or)?d.*|sig|signature|x-amz-signature|"
    r"x-amz-credential|x-amz-security-token|key|api[-_]?key|auth|authorization|credential)$"
)

# scheme://userinfo@ anywhere in a text. userinfo runs to the LAST '@' before the first '/'
# (an unescaped '@' inside a password must not leave its tail visible), so
# `https://a:p@ss@host/x@ref` masks `a:p@ss` and keeps the `@ref` in the path.
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s'\"]+)@")
# `user:password@host` with no scheme (a `--trusted-host` value, a host:port someone pasted
# with its credentials): the part before '@' is masked when it holds a ':'.
_BARE_USERINFO_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.\-:/@])[^\s/@:'\"()\[\]]+:[^\s/@'\"]+@(?=[A-Za-z0-9\[])")
_QUERY_IN_TEXT = re.compile(r"(?P<sep>[?&])(?P<name>[^=&#\s'\"]+)=(?P<value>[^&#\s'\"]*)")

_HTTP_SCHEMES = ("http", "https")


def _mask_userinfo(scheme: str, userinfo: str) -> str:
    """HTTP(S) userinfo is always a secret (a bare `TOKEN@` included); for ssh and friends
    the user name (`git@`) is not, only a password after ':' is."""
    # `git+https://TOKEN@host` is https for this purpose: the VCS prefix changes nothing.
    if scheme.lower().rstrip(":/").rsplit("+", 1)[-1] in _HTTP_SCHEMES:
        return MASK
    user, sep, _password = userinfo.partition(":")
    return f"{user}:{MASK}" if sep else user


def _mask_query(match: re.Match[str]) -> str:
    if _SECRET_PARAM.match(match.group("name")):
        return f"{match.group('sep')}{match.group('name')}={MASK}"
    return match.group(0)


def redact_url(url: str) -> str:
    """`url` with credentials replaced by `***`: userinfo of http(s) URLs, passwords of
    other schemes, and secret-looking query parameters. Anything else is returned as is."""
    try:
        url = str(url)
        scheme_end = url.find("://")
        if scheme_end > 0 and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", url[:scheme_end]):
            # One URL: everything up to the last '@' of the authority is userinfo, whatever
            # characters it holds (the text regex stops at whitespace; this must not).
            start = scheme_end + 3
            slash = url.find("/", start)
            authority_end = len(url) if slash < 0 else slash
            at = url.rfind("@", start, authority_end)
            if at >= 0:
                scheme = url[:start]
                url = f"{scheme}{_mask_userinfo(scheme, url[start:at])}@{url[at + 1:]}"
        if "?" in url or "&" in url:
            url = _QUERY_IN_TEXT.sub(_mask_query, url)
        return url
    except Exception:  # pragma: no cover - a redactor must not be the thing that fails
        return MASK


def redact_text(text: str) -> str:
    """Every URL inside `text` (for example git's stderr) redacted as by `redact_url`."""

    def userinfo(match: re.Match[str]) -> str:
        scheme = match.group("scheme")
        return f"{scheme}{_mask_userinfo(scheme, match.group('userinfo'))}@"

    text = _USERINFO_IN_TEXT.sub(userinfo, text)
    if "@" in text:
        text = _BARE_USERINFO_IN_TEXT.sub(MASK + "@", text)
    if "?" in text or "&" in text:
        text = _QUERY_IN_TEXT.sub(_mask_query, text)
    return text


# ---------------------------------------------------------------------------------------
# URLs a job writes (index URLs, find-links, requirement URLs): strict, and credential-free


_URL_SCHEMES = ("http", "https")
# RFC 3986's characters: unreserved, reserved and '%'. Anything else (whitespace, control
# characters, quotes, '<>\\^`{|}') is refused; what is allowed travels as data, never as shell.
_RFC3986 = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+|\[[0-9A-Fa-f:.]+\]")


def url_problem(url: str, *, schemes: tuple[str, ...] = _URL_SCHEMES) -> str | None:
    """Why `url` is not a plain http(s) URL we would hand to an installer, or None."""
    if not url:
        return "is empty"
    if not _RFC3986.fullmatch(url):
        return "has characters a URL cannot hold unencoded (whitespace, control characters, quotes, <>\\^`{|})"
    if "${" in url:
        return "references a variable; a job cannot expand the operator's environment"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        return f"must start with {' or '.join(s + '://' for s in schemes)}"
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    hostport = authority.rpartition("@")[2]
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:
        host, _, port = hostport.rpartition(":")
    if not host or not _HOST.fullmatch(host):
        return "has no valid host"
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return "has an invalid port"
    return None


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`https://user:token@host/x` -> (`https://host/x`, (user, token)); percent-decoded.
    A URL without userinfo comes back unchanged with None."""
    from urllib.parse import unquote

    scheme_end = url.find("://")
    if scheme_end <= 0:
        return url, None
    start = scheme_end + 3
    ends = [i for i in (url.find(c, start) for c in "/?#") if i >= 0]
    authority_end = min(ends) if ends else len(url)
    at = url.rfind("@", start, authority_end)
    if at < 0:
        return url, None
    user, _, password = url[start:at].partition(":")
    return url[:start] + url[at + 1:], (unquote(user), unquote(password))


def host_of(url: str) -> str:
    """The host of an http(s) URL, lowercased, without port or userinfo (netrc's `machine`)."""
    rest = url.partition("://")[2]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        return authority.split("]", 1)[0] + "]"
    return authority.rsplit(":", 1)[0].lower() if ":" in authority else authority.lower()
