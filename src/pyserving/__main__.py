from __future__ import annotations

from pyserving.cli.main import main

raise SystemExit(main())
