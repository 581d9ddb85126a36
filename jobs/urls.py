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
_QUERY_IN_TEXT = re.compile(r"(?P<sep>[?&])(?P<name>[^=&#\s'\"]+)=(?P<value>[^&#\s'\"]*)")

_HTTP_SCHEMES = ("http", "https")


def _mask_userinfo(scheme: str, userinfo: str) -> str:
    """HTTP(S) userinfo is always a secret (a bare `TOKEN@` included); for ssh and friends
    the user name (`git@`) is not, only a password after ':' is."""
    if scheme.lower().rstrip(":/") in _HTTP_SCHEMES:
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
    if "?" in text or "&" in text:
        text = _QUERY_IN_TEXT.sub(_mask_query, text)
    return text
