"""The security pieces the composition root wires, built from the server options.

* :func:`access_policy`: the token check for every protocol (open without
  ``--auth_tokens_file``); refusals count in ``pyserving_auth_failures_total{reason,protocol}``.
* :func:`admin_api_enabled`: with tokens the admin API is on (for the ``admin`` scope); without
  them only with ``--enable_admin_api``, and then a warning says anyone may change models.
* :func:`base_path_allowlist`: where run-time changes may load models from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from starlette.requests import Request

from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from pyserving.observability.metrics.registry import AUTH_FAILURES
from pyserving.protos import model_server_config_pb2
from pyserving.security.allowlist import BasePathAllowlist
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import Scope
from pyserving.security.tokens import TokensFileError

logger = logging.getLogger("pyserving.security")


def _count_failure(reason: str, protocol: str) -> None:
    AUTH_FAILURES.labels(reason, protocol).inc()


def access_policy(options: ServerOptions) -> AccessPolicy:
    """Raises INVALID_ARGUMENT when the tokens file cannot be used at start."""
    try:
        policy = AccessPolicy(options.auth_tokens_file or None, on_failure=_count_failure)
    except TokensFileError as exc:
        raise ServingError(Code.INVALID_ARGUMENT, f"--auth_tokens_file: {exc}") from None
    if policy.enabled:
        logger.info(
            "Token auth on: %d tokens from %s (SIGHUP or a change re-reads it)",
            policy.token_count(),
            options.auth_tokens_file,
        )
    return policy


def admin_api_enabled(options: ServerOptions) -> bool:
    if options.auth_tokens_file:
        return True
    if options.enable_admin_api:
        logger.warning(
            "The admin API is on without --auth_tokens_file: anyone who can reach the ports can "
            "load, replace and remove models. Set --auth_tokens_file to require a token with "
            "the admin scope."
        )
        return True
    return False


def base_path_allowlist(
    options: ServerOptions, config: model_server_config_pb2.ModelServerConfig
) -> BasePathAllowlist:
    if options.model_base_path_allowlist:
        roots = [r.strip() for r in options.model_base_path_allowlist.split(",") if r.strip()]
        return BasePathAllowlist(roots)
    return BasePathAllowlist.around([e.base_path for e in config.model_config_list.config])


_CONSOLE_ACTIONS = {Scope.READ: "view", Scope.INFER: "predict", Scope.ADMIN: "admin"}


def console_permissions(
    policy: AccessPolicy, *, admin: bool
) -> Callable[[Request], Collection[str]]:
    """What the console shows a caller: ``view`` (read scope), ``predict`` (infer), ``admin``
    (admin scope, and only while the admin API is on). The front door already refused callers
    without the read scope; this only hides what the token may not do."""

    def permissions(request: Request) -> Collection[str]:
        scopes = policy.scopes_of(request.headers.get("authorization"))
        actions = {action for scope, action in _CONSOLE_ACTIONS.items() if scope in scopes}
        if not admin:
            actions.discard("admin")
        return sorted(actions)

    return permissions
