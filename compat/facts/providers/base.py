"""What a provider says when it cannot answer.

A provider that is merely unavailable (no engine, image not local, registry unreachable)
raises `ProviderUnavailable`; `inspect_image` records why and asks the next one. A
registry that answers "no such image" raises `ImageNotFound`, which ends the search:
inference must not invent facts for an image that does not exist.
"""

from __future__ import annotations

from launchbuild.errors import BadInput, InfraUnavailable


class ImageNotFound(BadInput):
    """The image or tag does not exist where it was looked for (LB104 at check level)."""


class ProviderUnavailable(InfraUnavailable):
    """This provider cannot answer for this image; the next one may."""


class RegistryAuthError(ProviderUnavailable):
    """The registry wants credentials we do not have, or refused the ones we sent."""


class RegistryIntegrityError(InfraUnavailable):
    """A blob or manifest did not match its digest or was cut short: never fall back on this."""
