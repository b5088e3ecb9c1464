"""Write docs/openapi.json from the server's OpenAPI document (``make openapi``).

``--check``: fail (exit 1) if the file differs from what the server serves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyserving.api.rest.openapi import openapi_json

DOCS_COPY = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args()
    document = openapi_json()
    if args.check:
        if not DOCS_COPY.exists() or DOCS_COPY.read_bytes() != document:
            print(f"{DOCS_COPY} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCS_COPY.write_bytes(document)
    print(f"wrote {DOCS_COPY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
