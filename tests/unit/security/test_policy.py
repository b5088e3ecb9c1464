from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import Scope
from pyserving.security.tokens import TokensFileError, entry_json, new_token


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write_tokens(path: Path, *entries: dict[str, object]) -> None:
    path.write_text(json.dumps({"tokens": list(entries)}))


@pytest.fixture
def tokens(tmp_path: Path) -> tuple[Path, str, str]:
    infer, admin = new_token(), new_token()
    path = tmp_path / "tokens.json"
    write_tokens(
        path,
        entry_json("frontend", infer, [Scope.INFER]),
        entry_json("ops", admin, [Scope.ADMIN, Scope.READ]),
    )
    return path, infer, admin


def test_without_a_tokens_file_everything_is_open() -> None:
    policy = AccessPolicy(None)
    assert not policy.enabled
    assert policy.authorize(Scope.ADMIN, None, "rest") is None


def test_right_scope_names_the_caller(tokens: tuple[Path, str, str]) -> None:
    path, infer, admin = tokens
    policy = AccessPolicy(str(path))
    assert policy.authorize(Scope.INFER, f"Bearer {infer}", "rest") == "frontend"
    assert policy.authorize(Scope.ADMIN, f"bearer {admin}", "grpc") == "ops"
    assert policy.authorize(None, None, "rest") is None  # probes stay open


@pytest.mark.parametrize("credential", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer  "])
def test_missing_token_is_unauthenticated(
    tokens: tuple[Path, str, str], credential: str | None
) -> None:
    with pytest.raises(ServingError) as caught:
        AccessPolicy(str(tokens[0])).authorize(Scope.READ, credential, "rest")
    assert caught.value.code == Code.UNAUTHENTICATED
    assert "Authorization: Bearer" in caught.value.message


def test_wrong_token_is_unauthenticated_and_never_logged(
    tokens: tuple[Path, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[tuple[str, str]] = []
    policy = AccessPolicy(str(tokens[0]), on_failure=lambda r, p: failures.append((r, p)))
    wrong = tokens[1] + "x"
    with caplog.at_level(logging.WARNING), pytest.raises(ServingError) as caught:
        policy.authorize(Scope.INFER, f"Bearer {wrong}", "grpc")
    assert caught.value.code == Code.UNAUTHENTICATED
    assert failures == [("invalid", "grpc")]
    assert wrong not in caplog.text and tokens[1] not in caplog.text


def test_wrong_scope_is_permission_denied(tokens: tuple[Path, str, str]) -> None:
    failures: list[tuple[str, str]] = []
    policy = AccessPolicy(str(tokens[0]), on_failure=lambda r, p: failures.append((r, p)))
    with pytest.raises(ServingError) as caught:
        policy.authorize(Scope.ADMIN, f"Bearer {tokens[1]}", "rest")
    assert caught.value.code == Code.PERMISSION_DENIED
    assert "'frontend'" in caught.value.message and "'admin'" in caught.value.message
    assert failures == [("scope", "rest")]


def test_file_changes_apply_without_restart(tokens: tuple[Path, str, str]) -> None:
    path, infer, _ = tokens
    clock = Clock()
    policy = AccessPolicy(str(path), clock=clock)
    assert policy.authorize(Scope.INFER, f"Bearer {infer}", "rest") == "frontend"
    fresh = new_token()
    write_tokens(path, entry_json("rotated", fresh, [Scope.INFER]))
    clock.now += 2
    assert policy.authorize(Scope.INFER, f"Bearer {fresh}", "rest") == "rotated"
    with pytest.raises(ServingError):
        policy.authorize(Scope.INFER, f"Bearer {infer}", "rest")  # revoked


def test_a_broken_rewrite_keeps_the_previous_tokens(tokens: tuple[Path, str, str]) -> None:
    path, infer, _ = tokens
    clock = Clock()
    policy = AccessPolicy(str(path), clock=clock)
    path.write_text("{not json")
    clock.now += 2
    assert policy.authorize(Scope.INFER, f"Bearer {infer}", "rest") == "frontend"
    assert policy.reload() is False


def test_explicit_reload(tokens: tuple[Path, str, str]) -> None:
    path, _, _ = tokens
    policy = AccessPolicy(str(path), clock=Clock())
    fresh = new_token()
    write_tokens(path, entry_json("new", fresh, [Scope.METRICS]))
    assert policy.reload() is True
    assert policy.authorize(Scope.METRICS, f"Bearer {fresh}", "rest") == "new"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("[]", '{"tokens": [...]}'),
        ('{"tokens": [{"name": "a", "sha256": "secret", "scopes": ["infer"]}]}', "not the token"),
        (
            '{"tokens": [{"name": "a", "sha256": "' + "0" * 64 + '", "scopes": ["root"]}]}',
            "unknown scope 'root'",
        ),
        ('{"tokens": [{"name": "", "sha256": "' + "0" * 64 + '", "scopes": ["infer"]}]}', "name"),
        ('{"tokens": [{"name": "a", "sha256": "' + "0" * 64 + '", "scopes": []}]}', "scopes"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, document: str, problem: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(document)
    with pytest.raises(TokensFileError) as caught:
        AccessPolicy(str(path))
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TokensFileError, match="does not exist"):
        AccessPolicy(str(tmp_path / "nope.json"))


def test_token_command_appends_a_usable_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from pyserving.security import token_command

    path = tmp_path / "tokens.json"
    parser = argparse.ArgumentParser()
    token_command.add_parser(parser.add_subparsers())
    for name in ("ci", "web"):
        args = parser.parse_args(
            ["token", "--name", name, "--scopes", "infer,read", "--file", str(path)]
        )
        assert token_command.run(args) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert AccessPolicy(str(path)).authorize(Scope.READ, f"Bearer {token}", "rest") == "web"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = parser.parse_args(["token", "--name", "ci", "--scopes", "infer", "--file", str(path)])
    assert token_command.run(again) == 1
    assert "already has a token named 'ci'" in capsys.readouterr().out
    bad = parser.parse_args(["token", "--name", "x", "--scopes", "root"])
    assert token_command.run(bad) == 2
