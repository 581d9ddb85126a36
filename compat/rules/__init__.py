"""Rule modules, one per concern group. Importing this package registers every rule."""

from launchbuild.compat.rules import base_image, gpu, inputs, knowledge, libraries, packages, source  # noqa: F401
