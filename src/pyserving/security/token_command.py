"""``pyserving token``: make a bearer token and its tokens-file entry.

Prints the token once (it is stored nowhere) and appends its hashed entry to ``--file`` (created
if missing; written atomically, so a running server never reads half a file), or prints the entry
for you to add. A server watching that file picks the new token up within a second.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from pyserving.security.scopes import Scope
from pyserving.security.tokens import TokensFileError, entry_json, load_tokens, new_token


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "token",
        help="create a bearer token for --auth_tokens_file",
        description="Create a bearer token with scopes; its SHA-256 goes to the tokens file.",
    )
    parser.add_argument("--name", required=True, help="who holds the token (shown in logs)")
    parser.add_argument(
        "--scopes",
        required=True,
        help="comma-separated: " + ", ".join(s.value for s in Scope),
    )
    parser.add_argument("--file", help="the tokens file to add the entry to (else print it)")


def run(args: argparse.Namespace) -> int:
    try:
        scopes = [Scope.parse(s) for s in args.scopes.split(",") if s.strip()]
    except ValueError as exc:
        print(f"pyserving token: {exc}")
        return 2
    if not scopes:
        print("pyserving token: --scopes needs at least one scope")
        return 2
    token = new_token()
    entry = entry_json(args.name, token, scopes)
    if args.file:
        try:
            _append(Path(args.file), entry)
        except TokensFileError as exc:
            print(f"pyserving token: {exc}")
            return 1
        print(f"Added '{args.name}' to {args.file}. The token (shown once, keep it secret):")
    else:
        print(json.dumps(entry))
        print("Add the line above to your tokens file. The token (shown once, keep it secret):")
    print(token)
    return 0


def _append(path: Path, entry: dict[str, object]) -> None:
    if path.exists():
        # Validates the file first: never append to a file the server would refuse.
        if entry["name"] in load_tokens(path).names:
            raise TokensFileError(f"{path} already has a token named {entry['name']!r}")
        document = json.loads(path.read_text(encoding="utf-8"))
    else:
        document = {"tokens": []}
    document["tokens"].append(entry)
    fd, temp = tempfile.mkstemp(prefix=".tokens-", dir=path.parent or ".")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
    os.chmod(temp, 0o600)
    os.replace(temp, path)
