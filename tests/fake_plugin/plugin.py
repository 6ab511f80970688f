"""flx.testing.fake under its old name: the same module object (not a copy), so a test that
registers it, or replaces one of its functions, acts on the connector flx runs."""

import sys

from flx.testing import fake

sys.modules[__name__] = fake
