"""The compliance policy pack: version, agency registry, per-state rules and detector thresholds.

`deploy/policies/policy.yaml` holds the version, the optional registry path, the states directory and
`detectors: {kind: thresholds}`; `states/XX.yaml` holds one state's rules (`stream.policy_rules`).
`load_policy` validates everything up front - state files, and each detector's thresholds with that
detector's own `params_model` - and raises `ConfigError` naming the file and the dotted field.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stream.errors import ConfigError
from stream.findings import DETECTORS
from stream.policy_rules import RuleHit, StateRules

__all__ = ["KNOWN_STATES", "Policy", "RuleHit", "StateRules", "load_policy"]

_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP"
)
KNOWN_STATES: frozenset[str] = frozenset(_STATE_CODES.split())


class _Loader(yaml.SafeLoader):
    """Safe YAML, minus implicit timestamps (pydantic parses dates, so a bad one names its field),
    and with duplicate keys rejected (a silently shadowed rule is a compliance bug)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class PolicyFile(BaseModel):
    """The top-level `policy.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$", description="e.g. 2026.11.1")
    registry: str | None = None
    states_dir: str = "states/"
    detectors: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """The validated pack. Detectors read it through `DetectorContext.policy`."""

    version: str
    registry_path: Path | None
    states: dict[str, StateRules]
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None

    def detector_params(self, kind: str) -> dict[str, Any]:
        """The raw threshold mapping for `kind` ({} when the pack has none: the detector's defaults)."""
        return dict(self.detectors.get(kind, {}))

    def state(self, code: str) -> StateRules | None:
        return self.states.get(code)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "<file>", f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "<document>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), where, f"malformed YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "<document>", "expected a mapping at the top level")
    return data


def _dotted(loc: tuple[int | str, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<document>"


def _validation_error(path: Path, exc: ValidationError, prefix: str = "") -> ConfigError:
    first = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(str(path), _dotted(first["loc"], prefix), f"{first['msg']}{more}")


def _load_state(path: Path) -> StateRules:
    data = _read_yaml(path)
    code = data.get("state")
    if code not in KNOWN_STATES:
        raise ConfigError(str(path), "state", f"unknown state code {code!r}")
    if code != path.stem:
        raise ConfigError(str(path), "state", f"state {code!r} does not match the file name {path.name}")
    try:
        return StateRules.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, exc) from exc


def _detector_classes() -> dict[str, Any]:
    """The detector registry. Modules still being written are skipped (only when the module itself is
    missing: a broken import inside an existing detector module is an error, not a skip)."""
    from stream import detectors

    try:
        return dict(detectors.load_all())
    except ModuleNotFoundError:
        pass
    for kind in DETECTORS:
        try:
            importlib.import_module(f"stream.detectors.{kind}")
        except ModuleNotFoundError as exc:
            if exc.name != f"stream.detectors.{kind}":
                raise
    return dict(detectors.REGISTRY)


def _check_detectors(path: Path, thresholds: dict[str, dict[str, Any]]) -> None:
    classes = _detector_classes()
    for kind, raw in thresholds.items():
        if kind not in DETECTORS:
            raise ConfigError(str(path), f"detectors.{kind}", f"unknown detector kind; known: {DETECTORS}")
        cls = classes.get(kind)
        if cls is None:
            continue  # module not written yet
        try:
            cls.params_model.model_validate(raw)
        except ValidationError as exc:
            raise _validation_error(path, exc, f"detectors.{kind}") from exc


def load_policy(path: Path, *, check_detectors: bool = True) -> Policy:
    """Load and validate the whole pack; raise `ConfigError(file, field, message)` on the first problem.

    `check_detectors=False` skips importing detector modules to validate thresholds (unit tests of one
    detector that need only the state rules); the runtime and `check-policy` always validate.
    """
    path = Path(path)
    if path.is_dir():  # `--policy pack/`: the pack's top-level file
        path = path / "policy.yaml"
    try:
        top = PolicyFile.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _validation_error(path, exc) from exc
    base = path.parent
    registry = None
    if top.registry is not None:
        registry = (base / top.registry).resolve()
        if not registry.is_file():
            raise ConfigError(str(path), "registry", f"no such file: {registry}")
    states_dir = base / top.states_dir
    if not states_dir.is_dir():
        raise ConfigError(str(path), "states_dir", f"not a directory: {states_dir}")
    if check_detectors:
        _check_detectors(path, top.detectors)
    states = {p.stem: _load_state(p) for p in sorted(states_dir.glob("*.yaml"))}
    if not states:
        raise ConfigError(str(path), "states_dir", f"no state files (*.yaml) in {states_dir}")
    return Policy(top.version, registry, states, dict(top.detectors), path)
