from hypothesis import given
from hypothesis import strategies as st

from launchbuild.resolver.versions import same_version

VERSIONS = st.one_of(st.text(max_size=12), st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\+cu[0-9]{3})?", fullmatch=True))


def test_pep440_equal_versions_are_the_same_and_a_local_label_is_not_dropped():
    assert same_version("1.0", "1.0.0") and same_version("2.1.0+cu121", "2.1.0+cu121")
    assert not same_version("2.1.0+cu121", "2.1.0") and not same_version("1.0", "1.1")


def test_a_version_pep440_cannot_parse_is_compared_as_text():
    assert same_version("weird-1", "weird-1") and not same_version("weird-1", "weird-2")


@given(VERSIONS, VERSIONS)
def test_the_same_version_is_reflexive_and_symmetric(a, b):
    assert same_version(a, a)
    assert same_version(a, b) == same_version(b, a)
