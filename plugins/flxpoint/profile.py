"""The Flxpoint mapping profile: where the uncertain parts of Flxpoint's JSON sit, and the
choices that turn it into flx records (currency, source types, vendor ids, statuses).

A profile is a bundled name (`default`, `demo`) or a JSON file; `extends` names the profile it
builds on, and `overrides` (from flx.toml) are merged over the result key by key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from flx import ConfigError

PACKAGE = __package__ + ".profiles"
FR_TYPES = ("internal", "external")
VENDOR_ID_CHOICES = ("source_id", "vendor_id", "source_name")


@dataclass(frozen=True)
class MappingProfile:
    name: str
    data: dict[str, Any]

    def path(self, field: str) -> list[str]:
        """The Flxpoint paths for a flx field, in order of preference."""
        return [p.strip() for p in str(self.data["fields"].get(field) or "").split("|")
                if p.strip()]

    @property
    def currency(self) -> str:
        return str(self.data["currency"])

    def source_override(self, source_id: Any) -> dict[str, Any]:
        found = self.data.get("sources", {}).get(str(source_id))
        return found if isinstance(found, dict) else {}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(name_or_path: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name_or_path in seen:
        raise ConfigError(f"Flxpoint profile {name_or_path!r} extends itself",
                          hint="remove the loop of `extends`")
    path = Path(name_or_path)
    try:
        if path.suffix == ".json":
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files(PACKAGE).joinpath(f"{name_or_path}.json").read_text()
        data = json.loads(text)
    except (OSError, FileNotFoundError):
        raise ConfigError(f"no Flxpoint mapping profile {name_or_path!r}",
                          hint="use `default`, `demo`, or the path of a .json file") from None
    except ValueError as exc:
        raise ConfigError(f"the Flxpoint profile {name_or_path!r} is not valid JSON: {exc}",
                          hint="fix the file (a JSON object)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the Flxpoint profile {name_or_path!r} is not a JSON object",
                          hint="a profile is an object such as the bundled default.json")
    parent = data.pop("extends", None)
    if parent:
        data = _merge(_read(str(parent), (*seen, name_or_path)), data)
    return data


def load_mapping_profile(name_or_path: str = "default",
                         overrides: dict[str, Any] | None = None) -> MappingProfile:
    data = _read(name_or_path)
    if "extends" not in data and name_or_path != "default" and "fields" not in data:
        data = _merge(_read("default"), data)
    data = _merge(data, overrides or {})
    problems = check_profile(data)
    if problems:
        raise ConfigError(f"the Flxpoint mapping profile {name_or_path!r} has problems",
                          problems=problems, hint="correct the profile or the overrides")
    return MappingProfile(str(data.get("name") or name_or_path), data)


def check_profile(data: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(data.get("fields"), dict):
        problems.append("fields: an object of flx field -> Flxpoint path is needed")
    currency = data.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        problems.append(f"currency: {currency!r} is not a three-letter code such as USD")
    for handle, kind in (data.get("source_types") or {}).items():
        if kind not in FR_TYPES:
            problems.append(f"source_types.{handle}: {kind!r} is neither internal nor external")
    for source_id, over in (data.get("sources") or {}).items():
        if not isinstance(over, dict):
            problems.append(f"sources.{source_id}: an object is needed")
        elif over.get("type") not in (None, *FR_TYPES):
            problems.append(f"sources.{source_id}.type: {over['type']!r} is neither internal "
                            "nor external")
    if data.get("vendor_id") not in VENDOR_ID_CHOICES:
        problems.append(f"vendor_id: {data.get('vendor_id')!r} is not one of "
                        f"{', '.join(VENDOR_ID_CHOICES)}")
    if data.get("naive_times_are") != "UTC":
        problems.append("naive_times_are: only UTC is supported")
    return problems
