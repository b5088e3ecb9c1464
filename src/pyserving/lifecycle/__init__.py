"""The version lifecycle: which model versions exist on disk, which are loaded, which serve.

TF Serving's core, in Python threads: a file-system Source finds versions and aspires them through
a version policy; the Manager loads and unloads them under the availability-preserving policy;
requests lease a loaded version through a ServableHandle. :class:`ServerCore` wires it together.
Nothing here imports an API adapter or a specific runtime (runtimes come from ``runtime_for``).
"""

from __future__ import annotations

from pyserving.lifecycle.config import ModelConfig, VersionPolicy
from pyserving.lifecycle.core import ReloadTicket, ServerCore
from pyserving.lifecycle.handle import ServableHandle
from pyserving.lifecycle.state import ServableState, VersionStatus

__all__ = [
    "ModelConfig",
    "ReloadTicket",
    "ServableHandle",
    "ServableState",
    "ServerCore",
    "VersionPolicy",
    "VersionStatus",
]
