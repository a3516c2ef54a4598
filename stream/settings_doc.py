"""Renders every runtime setting as the Markdown table in README.md (`python -m stream.settings_doc`).

tests/unit/test_settings.py checks the README table lists every setting, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from stream.settings import Settings


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None:
        return "unset"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} rule(s), see meaning"
    if isinstance(value, list):
        return "`" + ",".join(map(str, value)) + "`" if value else "empty"
    return f"`{value}`"


def rows(model: type[BaseModel] = Settings, prefix: str = "DMVWATCH_") -> Iterator[tuple[str, str, str]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from rows(annotation, f"{prefix}{name.upper()}__")
            continue
        default = info.get_default(call_default_factory=True)
        yield f"{prefix}{name.upper()}", _default(default), (info.description or "").replace("|", "\\|")


def table() -> str:
    out = ["| env var | default | meaning |", "|---|---|---|"]
    out.append(
        "| `DMVWATCH_CONFIG_FILE` | unset | YAML file with any of the settings below (nested keys: "
        "`kafka: {bootstrap_servers: ...}`); env vars win over it. `--config` on the CLI sets it. |"
    )
    out += [f"| `{env}` | {default} | {desc} |" for env, default, desc in rows()]
    return "\n".join(out)


if __name__ == "__main__":
    print(table())
