"""The audit log of model config changes made at run time, and the base-path check they pass.

Every change through the admin API or ``HandleReloadConfigRequest`` (whatever the protocol) is
one line on the ``pyserving.audit`` logger: who (the token's name, ``anonymous`` without tokens),
what (the entry point, and the models added, removed and changed with their base paths), and the
result (``ok`` or the error). Changes the operator makes (start-up, the config file poller) are
not audited: they are not requests.
"""

from __future__ import annotations

import logging

from pyserving.protos import model_server_config_pb2
from pyserving.security.allowlist import BasePathAllowlist
from pyserving.security.caller import current_caller

logger = logging.getLogger("pyserving.audit")

Config = model_server_config_pb2.ModelServerConfig


def check_new_base_paths(
    allowlist: BasePathAllowlist | None, before: Config, wanted: Config
) -> None:
    """Raise (PERMISSION_DENIED / INVALID_ARGUMENT) for a base path of ``wanted`` that is not
    served already and lies outside ``allowlist``. Paths already served were accepted before
    (at start-up, they are the operator's), so resending them is never refused."""
    if allowlist is None:
        return
    served = {e.base_path for e in before.model_config_list.config}
    for entry in wanted.model_config_list.config:
        if entry.base_path not in served:
            allowlist.check(entry.base_path)


def describe(before: Config, after: Config) -> str:
    """``added a=/p, removed b, changed c=/q``: what ``after`` changes in ``before``."""
    old = {e.name: e for e in before.model_config_list.config}
    new = {e.name: e for e in after.model_config_list.config}
    parts = []
    added = [f"{n}={new[n].base_path}" for n in new if n not in old]
    removed = [n for n in old if n not in new]
    changed = [f"{n}={new[n].base_path}" for n in new if n in old and new[n] != old[n]]
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    if changed:
        parts.append("changed " + ", ".join(changed))
    return "; ".join(parts) or "no change"


def audit(action: str, before: Config, wanted: Config, error: BaseException | None) -> None:
    result = "ok" if error is None else f"failed: {error}"
    logger.info(
        "admin change by %s via %s: %s -> %s",
        current_caller(),
        action,
        describe(before, wanted),
        result,
    )
