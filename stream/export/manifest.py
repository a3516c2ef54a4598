"""`manifest.json`: the SHA-256 of every exported file, signed with HMAC-SHA256.

Why HMAC rather than Ed25519: the key already lives in settings (`export.signing_key`, a secret), and the
verifiers are the same oversight office that runs the monitor. A public signature (Ed25519) would let
outsiders verify too; the manifest's `signature.alg` field leaves room for it.

The signature covers the canonical JSON (sorted keys, no spaces) of the manifest without its
`signature` member. `verify()` reports a changed file, a missing file, an extra file in the directory,
and a manifest whose signature does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = "dmvq.export-manifest.v1"
ALG = "HMAC-SHA256"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def key_id(key: bytes) -> str:
    """Short fingerprint naming which key signed (not the key)."""
    return hashlib.sha256(b"dmvq-export-key-id|" + key).hexdigest()[:16]


def sign(doc: dict[str, Any], key: bytes) -> dict[str, Any]:
    mac = hmac.new(key, _canonical(doc), hashlib.sha256).hexdigest()
    return {**doc, "signature": {"alg": ALG, "key_id": key_id(key), "value": mac}}


def write_manifest(out_dir: Path, files: list[str], key: bytes, meta: dict[str, Any]) -> Path:
    """Hash `files` (names inside out_dir), sign, write manifest.json; byte-stable for equal inputs."""
    entries = [
        {"path": name, "sha256": sha256_file(out_dir / name), "bytes": (out_dir / name).stat().st_size}
        for name in sorted(files)
    ]
    doc = sign({"format": FORMAT, **meta, "files": entries}, key)
    path = out_dir / MANIFEST
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))


def verify(out_dir: Path, key: bytes) -> list[str]:
    """Problems found, one line each naming the file; empty when the export is intact."""
    try:
        doc = read_manifest(out_dir)
    except FileNotFoundError:
        return [f"{MANIFEST}: missing"]
    except ValueError:
        return [f"{MANIFEST}: not valid JSON"]
    problems: list[str] = []
    sig = doc.get("signature") or {}
    expected = hmac.new(key, _canonical(doc), hashlib.sha256).hexdigest()
    if sig.get("alg") != ALG or not hmac.compare_digest(str(sig.get("value", "")), expected):
        problems.append(f"{MANIFEST}: signature does not match (wrong key or edited manifest)")
    listed = {e["path"]: e for e in doc.get("files", [])}
    for name in sorted(listed):
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != listed[name]["sha256"]:
            problems.append(f"{name}: content changed (SHA-256 mismatch)")
    present = {str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()}
    for name in sorted(present - set(listed) - {MANIFEST}):
        problems.append(f"{name}: extra file not in the manifest")
    return problems
