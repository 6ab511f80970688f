"""Source.demo: a source may offer a bundled emulator to `flx demo` (public: flx.SourceDemo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flx
from flx import Source, SourceDemo


def test_a_source_has_no_demo_unless_it_offers_one() -> None:
    assert Source(name="plain").demo() is None
    assert "SourceDemo" in flx.__all__


def test_a_source_demo_serves_while_used_and_keeps_its_environment_out_of_its_repr() -> None:
    served: list[str] = []

    class Shop(Source):
        def demo(self):  # type: ignore[no-untyped-def]
            return self._serve()

        @contextmanager
        def _serve(self) -> Iterator[SourceDemo]:
            served.append("up")
            yield SourceDemo(settings={"token": "${SHOP_TOKEN}"}, env={"SHOP_TOKEN": "s3cret"},
                             note="Shop emulator: here")
            served.append("down")

    starter = Shop(name="shop").demo()
    assert starter is not None
    with starter as demo:
        assert served == ["up"] and demo.settings == {"token": "${SHOP_TOKEN}"}
        assert "s3cret" not in repr(demo)
    assert served == ["up", "down"]
