"""Where models may be loaded from when a client names the path.

Base paths arriving through the admin API, ``HandleReloadConfigRequest`` or V2 repository loads
must lie under one of the allowlist's roots (``--model_base_path_allowlist``; by default the
parent directories of the models configured at start-up). Checked on the real path: ``..``
segments are refused outright, and a symlink leading out of every root is refused too. Object
store URLs (``s3://``, ``gs://``) must start with an allowed URL root; other schemes are refused.
Paths given at start-up (flags, the config file) are the operator's and are not checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from pyserving.errors import Code, ServingError

OBJECT_STORE_SCHEMES = ("s3", "gs")


class BasePathAllowlist:
    def __init__(self, roots: Iterable[str]) -> None:
        self._dirs: list[str] = []
        self._urls: list[str] = []
        for root in roots:
            if "://" in root:
                self._urls.append(root.rstrip("/") + "/")
            elif root:
                self._dirs.append(os.path.realpath(root))
        self.roots: tuple[str, ...] = (*self._dirs, *self._urls)

    @classmethod
    def around(cls, base_paths: Sequence[str]) -> BasePathAllowlist:
        """The default: the directory holding each start-up model's base path."""
        roots = []
        for path in base_paths:
            if "://" in path:
                roots.append(path.rstrip("/").rsplit("/", 1)[0])
            else:
                roots.append(os.path.dirname(os.path.abspath(path.rstrip("/")) or "/"))
        return cls(roots)

    def check(self, base_path: str) -> None:
        """Raise PERMISSION_DENIED / INVALID_ARGUMENT unless ``base_path`` may be loaded."""
        if "://" in base_path:
            self._check_url(base_path)
            return
        if not os.path.isabs(base_path):
            raise ServingError(
                Code.INVALID_ARGUMENT, f"base_path {base_path!r} must be an absolute path"
            )
        if ".." in base_path.split("/"):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"base_path {base_path!r} contains '..': give the path without parent references",
            )
        real = os.path.realpath(base_path)
        for root in self._dirs:
            if real == root or real.startswith(root.rstrip("/") + "/"):
                return
        shown = f" (it resolves to {real})" if real != os.path.normpath(base_path) else ""
        raise self._outside(base_path + shown)

    def _check_url(self, url: str) -> None:
        scheme = url.split("://", 1)[0].lower()
        if scheme not in OBJECT_STORE_SCHEMES:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"base_path {url!r}: the {scheme}:// scheme is not supported "
                f"(use a local path, {' or '.join(s + '://' for s in OBJECT_STORE_SCHEMES)})",
            )
        if ".." in url.split("://", 1)[1].split("/"):
            raise ServingError(Code.INVALID_ARGUMENT, f"base_path {url!r} contains '..'")
        normal = url.rstrip("/") + "/"
        if not any(normal.startswith(root) for root in self._urls):
            raise self._outside(url)

    def _outside(self, shown: str) -> ServingError:
        roots = ", ".join(self.roots) or "(none)"
        return ServingError(
            Code.PERMISSION_DENIED,
            f"base_path {shown} is outside the allowed model roots [{roots}]; start the server "
            "with --model_base_path_allowlist=<dir>[,<dir>...] to allow more",
        )
