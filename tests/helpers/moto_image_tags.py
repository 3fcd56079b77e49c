"""moto's CreateImage gap (it refuses a TagSpecification for the image's snapshots, AWS takes
it) closed for every test, in the test process where moto's servers run: the sandbox closes it
the same way (jupyter_cloudlab/sandbox/moto_gaps.py), the cloud tests' moto servers get it here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_cloudlab.sandbox import moto_gaps


@pytest.fixture(autouse=True)
def moto_tags_image_snapshots() -> Iterator[None]:
    moto_gaps.close_gaps()
    yield
