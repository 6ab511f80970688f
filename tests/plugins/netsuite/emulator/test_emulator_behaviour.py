"""The behaviour switches' own rules: parsing `--behave NAME=VALUE`, refusing unknown values,
and the metadata catalog leaving out the fields of a feature that is off."""

from __future__ import annotations

import pytest

from flx_netsuite.emulator import Emulator
from flx_netsuite.emulator.app import metadata
from flx_netsuite.emulator.behaviour import Behaviour


def test_parse_reads_every_kind_of_switch() -> None:
    parsed = Behaviour.parse(["reprice-lines=true", "null_create_po=ignored",
                              "missing_features=pickpackship,dropship",
                              "carrier_ship_methods=3:packageUps,4:packageFedex"])
    assert parsed == Behaviour(reprice_lines=True, null_create_po="ignored",
                               missing_features=frozenset({"pickpackship", "dropship"}),
                               carrier_ship_methods={"3": "packageUps", "4": "packageFedex"})


@pytest.mark.parametrize(("setting", "words"), [
    ("reprice_lines=maybe", "reprice_lines is true or false"),
    ("null_create_po=sometimes", "null_create_po must be one of clears, ignored"),
    ("missing_features=teleport", "unknown features ['teleport']"),
    ("colour=blue", "use NAME=VALUE with NAME one of"),
    ("carrier_ship_methods=3:packageDHL", "'packageDHL' is not one of"),
])
def test_a_bad_switch_is_refused_naming_what_is_allowed(setting: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Behaviour.parse([setting])


def test_the_metadata_catalog_leaves_out_a_missing_features_fields() -> None:
    full = metadata(Emulator(), "itemFulfillment")["properties"]
    assert "shipStatus" in full and "packageUps" in full
    lacking = metadata(Emulator(behaviour=Behaviour(
        missing_features=frozenset({"pickpackship", "dropship"}))), "salesOrder")
    line = lacking["properties"]["item"]["properties"]["items"]["items"]["properties"]
    assert "createPo" not in line and "item" in line
