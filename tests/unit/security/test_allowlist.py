from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.security.allowlist import BasePathAllowlist


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    models, secret = tmp_path / "models", tmp_path / "secret"
    (models / "digits" / "1").mkdir(parents=True)
    secret.mkdir()
    return models, secret


def refused(allowlist: BasePathAllowlist, path: str) -> ServingError:
    with pytest.raises(ServingError) as caught:
        allowlist.check(path)
    return caught.value


def test_paths_under_a_root_are_allowed(roots: tuple[Path, Path]) -> None:
    models, _ = roots
    allowlist = BasePathAllowlist([str(models)])
    allowlist.check(str(models / "digits"))
    allowlist.check(str(models / "not-yet-there"))
    allowlist.check(str(models))


def test_default_roots_are_the_directories_of_the_startup_models(roots: tuple[Path, Path]) -> None:
    models, secret = roots
    allowlist = BasePathAllowlist.around([str(models / "digits")])
    allowlist.check(str(models / "mnist"))
    assert refused(allowlist, str(secret)).code == Code.PERMISSION_DENIED


def test_outside_is_permission_denied_and_names_the_flag(roots: tuple[Path, Path]) -> None:
    models, _ = roots
    error = refused(BasePathAllowlist([str(models)]), "/etc")
    assert error.code == Code.PERMISSION_DENIED
    assert "--model_base_path_allowlist" in error.message and str(models) in error.message


def test_parent_references_are_refused(roots: tuple[Path, Path]) -> None:
    models, _ = roots
    error = refused(BasePathAllowlist([str(models)]), f"{models}/../secret")
    assert error.code == Code.INVALID_ARGUMENT and "'..'" in error.message


def test_a_symlink_escaping_the_root_is_refused(roots: tuple[Path, Path]) -> None:
    models, secret = roots
    os.symlink(secret, models / "sneaky")
    error = refused(BasePathAllowlist([str(models)]), str(models / "sneaky"))
    assert error.code == Code.PERMISSION_DENIED and str(secret) in error.message


def test_a_prefix_that_is_not_a_directory_boundary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "models-evil").mkdir()
    error = refused(BasePathAllowlist([str(tmp_path / "models")]), str(tmp_path / "models-evil"))
    assert error.code == Code.PERMISSION_DENIED


def test_relative_paths_are_refused(roots: tuple[Path, Path]) -> None:
    assert refused(BasePathAllowlist([str(roots[0])]), "models/x").code == Code.INVALID_ARGUMENT


def test_object_store_urls(roots: tuple[Path, Path]) -> None:
    allowlist = BasePathAllowlist([str(roots[0]), "s3://bucket/models"])
    allowlist.check("s3://bucket/models/mnist")
    assert refused(allowlist, "s3://bucket/other").code == Code.PERMISSION_DENIED
    assert refused(allowlist, "s3://bucket/modelsx").code == Code.PERMISSION_DENIED
    assert refused(allowlist, "s3://bucket/models/../x").code == Code.INVALID_ARGUMENT
    error = refused(allowlist, "http://evil.example/model")
    assert error.code == Code.INVALID_ARGUMENT and "http://" in error.message
    assert refused(allowlist, "file:///etc").code == Code.INVALID_ARGUMENT
