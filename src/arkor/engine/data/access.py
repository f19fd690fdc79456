"""What a dataset source may make this machine read or fetch, for a worker a backend launched (its
spec's `DatasetAccess`) and for the backend's check when a job is created: the same rules on both sides.

- `file` paths must lie, symlinks resolved, under the access's roots (no roots: a local run reads any
  path); the refusal is one message whether or not the path exists, so it is no existence oracle.
- a `huggingface` name that is really a path (or exists on disk) is held to the same roots.
- `blob` hosts must resolve only to public addresses (not loopback, private, link-local, multicast,
  reserved, unspecified or shared; IPv4 inside IPv6 included) unless private ones are allowed; "does
  not resolve" and "is private" get the same answer.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse, urlsplit

from arkor.errors import ConfigError
from arkor.protocol import DatasetAccess

from .readers import SUPPORTED_EXTENSIONS

FILE_ROOTS_SETTING = "ARKOR_FILE_DATASET_ROOTS"
BLOB_PRIVATE_SETTING = "ARKOR_BLOB_ALLOW_PRIVATE"


def _under(path: Path, roots: Sequence[str | Path]) -> bool:
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if path == real_root or path.is_relative_to(real_root):
            return True
    return False


def file_refusal(path: str, *, field_name: str = "dataset_source.path") -> ConfigError:
    """The one answer for a path outside the roots: the same whether or not the path exists."""
    return ConfigError(
        f"{field_name} {path!r} is not in a folder this backend lets jobs read ({FILE_ROOTS_SETTING}). "
        'Upload the file with POST /v1/datasets and use {"type": "uploaded", "datasetId": ...} (the SDK '
        f"does this for a local path), or have the operator add its folder to {FILE_ROOTS_SETTING}.",
        field=field_name,
    )


def allowed_file_path(
    path: str,
    roots: Sequence[str | Path] | None,
    *,
    base_dir: Path | None = None,
    field_name: str = "dataset_source.path",
) -> Path:
    """The path to open for a `file` source. With `roots`, the path with symlinks resolved, which must lie
    under one of them (else `file_refusal`); without, the path as given (relative to `base_dir`)."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base_dir or Path.cwd()) / candidate
    if roots is None:
        return candidate
    try:
        resolved = Path(os.path.realpath(candidate))
    except (OSError, ValueError):
        raise file_refusal(path, field_name=field_name) from None
    if not _under(resolved, roots):
        raise file_refusal(path, field_name=field_name)
    return resolved


# A hub repo id: `name` or `namespace/name`, letters, digits, `-`, `_`, `.` (no `..`).
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")


def check_hub_name(
    name: str, roots: Sequence[str | Path] | None, *, probe_local: bool = False, field_name: str = "dataset_source.name"
) -> None:
    """A `huggingface` source's name must be a hub id: `datasets` would read a local path (or an existing
    local folder of that name) from the machine it runs on, so such a name is held to the `file` roots.
    `probe_local` (the worker) also treats a hub-looking name that exists on disk as a path."""
    if roots is None:
        return
    looks_like_id = (
        bool(_HUB_ID.fullmatch(name)) and ".." not in name and not name.lower().endswith(SUPPORTED_EXTENSIONS)
    )
    if looks_like_id and not (probe_local and os.path.lexists(name)):
        return
    allowed_file_path(name, roots, field_name=field_name)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(text: str) -> bool:
    """Whether an address is on the public internet: not loopback, private, link-local, multicast, reserved,
    unspecified or shared, also when an IPv4 address hides inside an IPv6 one."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _blob_refusal(url: str, host: str, field_name: str) -> ConfigError:
    # One message for "does not resolve" and "resolves to a private address": which one is not told.
    return ConfigError(
        f"{field_name} {redact_url(url)!r}: the host {host!r} does not resolve to a public internet address; "
        f"blob URLs must be public http(s) URLs (a backend started with {BLOB_PRIVATE_SETTING}=1 may fetch from "
        "private networks). Or upload the file with POST /v1/datasets.",
        field=field_name,
    )


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the one DNS lookup a blob hop makes)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def blob_addresses(
    url: str, *, allow_private: bool, field_name: str = "dataset_source.url"
) -> tuple[str, int, list[str]]:
    """(host, port, addresses to connect to) for a blob URL; every address the host resolves to must be
    public unless `allow_private`. Raises ConfigError (scheme, host, or the one refusal message)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{field_name} {redact_url(url)!r} is not a valid URL", field=field_name) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"{field_name} must be an http(s) URL (got {redact_url(url)!r})", field=field_name)
    host = parts.hostname
    if not host:
        raise ConfigError(f"{field_name} {redact_url(url)!r} has no host", field=field_name)
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise _blob_refusal(url, host, field_name) from None
    if not addresses or (not allow_private and not all(is_public_address(a) for a in addresses)):
        raise _blob_refusal(url, host, field_name)
    return host, port, addresses


def redact_url(url: str) -> str:
    """The URL without query, fragment or user info, for messages: presigned URLs carry secrets there."""
    try:
        parts = urlparse(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "(invalid URL)"
    return f"{parts.scheme}://{host}{parts.path}"


def local_access() -> DatasetAccess:
    """The policy of a run no backend launched: any file; blobs from public hosts unless
    ARKOR_BLOB_ALLOW_PRIVATE=1 is set."""
    allow = os.environ.get(BLOB_PRIVATE_SETTING, "").strip().lower() in ("1", "true", "yes")
    return DatasetAccess(blob_allow_private=allow)
