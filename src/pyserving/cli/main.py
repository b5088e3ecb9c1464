"""``pyserving``: the friendly command line.

``pyserving serve ./models/digits other=/srv/models/other`` serves each model base directory
(the parent of the numbered version directories) under the directory's name or the given NAME,
with gRPC on 8500 and REST on 8501. A PATH that is itself a SavedModel (``saved_model.pb`` inside,
no version directories) is served as version 1.

Unlike ``tensorflow_model_server`` (which keeps TF Serving's behaviour), a PATH that does not exist
is a usage error at once, a model that cannot load does not keep the others from serving (it is
reported in the log, ``/readyz`` and its status), and load errors that would repeat (no SavedModel,
an unsupported format) are not retried. It builds the same :class:`ServerOptions` as
``tensorflow_model_server`` and runs the same server; nothing is written to disk. Paths are made
absolute against the current directory; URIs (``scheme://...``) are kept as given.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Final

from pyserving.cli.tfs import EXIT_FAILURE, launch_server, version_text
from pyserving.config.flags import validate
from pyserving.config.models import parse_version_policy
from pyserving.config.monitoring import DEFAULT_PROMETHEUS_PATH
from pyserving.config.options import ServerOptions
from pyserving.errors import ServingError
from pyserving.security import token_command

__all__ = ["UsageError", "build_parser", "main", "options_from_args", "parse_model_arg"]


_USAGE_ERROR: Final = 2  # argparse's exit status for a bad command line
_INT32_MAX: Final = 2**31 - 1


class UsageError(ValueError):
    """A command line argparse accepted but that makes no sense (reported like argparse's)."""


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0-65535)")
    return port


def _int32(text: str) -> int:
    number = int(text)
    if not -_INT32_MAX - 1 <= number <= _INT32_MAX:
        raise argparse.ArgumentTypeError(f"{text} does not fit in 32 bits")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyserving", description="A TensorFlow Serving compatible model server."
    )
    parser.add_argument("--version", action="store_true", help="print the versions and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve models over gRPC and REST",
        description="Serve models over gRPC and REST (same server as tensorflow_model_server).",
    )
    serve.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="a model base directory (holding numbered version directories), served under the "
        "directory's name; or NAME=PATH to choose the name",
    )
    serve.add_argument("--port", type=_port, default=8500, help="gRPC port, 0 = none (8500)")
    serve.add_argument("--rest-port", type=_port, default=8501, help="REST port, 0 = none (8501)")
    serve.add_argument(
        "--model-config-file", help="a ModelServerConfig text file, instead of PATHs"
    )
    serve.add_argument(
        "--poll-seconds",
        type=_int32,
        default=1,
        help="seconds between scans for new model versions; 0 = scan once (1)",
    )
    serve.add_argument(
        "--batching",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="batch concurrent requests into shared model calls, adding no wait (on)",
    )
    serve.add_argument(
        "--version-policy",
        type=_version_policy,
        default=None,
        metavar="latest:N|all|specific:1,2",
        help="which versions of each PATH to serve (latest:1)",
    )
    serve.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"Prometheus metrics on the REST port at {DEFAULT_PROMETHEUS_PATH} (on)",
    )
    serve.add_argument(
        "--warmup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="replay a version's assets.extra/tf_serving_warmup_requests before serving it (on)",
    )
    serve.add_argument("--log-format", choices=("text", "json"), default="text")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    serve.add_argument(
        "--console",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the web console at / and the digits page at /demo/digits on the REST port (on)",
    )
    serve.add_argument(
        "--auth-tokens-file",
        default="",
        help="require bearer tokens from this file (create them with `pyserving token`)",
    )
    serve.add_argument(
        "--enable-admin-api",
        action="store_true",
        help="serve the admin API without tokens (anyone reaching the ports may change models)",
    )
    serve.add_argument(
        "--model-base-path-allowlist",
        default="",
        help="comma-separated roots run-time model changes may load from (default: the "
        "directories holding the start-up models)",
    )
    serve.add_argument(
        "--ssl-config-file", default="", help="an SSLConfig text file: TLS on both ports"
    )
    serve.add_argument(
        "--version", dest="serve_version", action="store_true", help="print the versions and exit"
    )
    commands.add_parser("version", help="print the versions and exit")
    token_command.add_parser(commands)
    return parser


def _version_policy(text: str) -> str:
    try:
        parse_version_policy(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_model_arg(arg: str) -> tuple[str, str]:
    """``PATH`` or ``NAME=PATH`` -> (name, absolute path); the name defaults to the dir's name.

    ``=`` only introduces a name when what precedes it has no path separator, so a path that
    merely contains ``=`` still works.
    """
    name, equals, path = arg.partition("=")
    if equals and name and "/" not in name and os.sep not in name:
        if not path:
            raise UsageError(f"no path after '=' in {arg!r}")
        return name, _absolute(path)
    path = _absolute(arg)
    name = os.path.basename(path)
    if not name:
        raise UsageError(f"cannot infer a model name from {arg!r}; write NAME=PATH")
    return name, path


def _check_exists(path: str) -> None:
    """A local model path must exist: TF Serving would wait for it for ever, logging every poll."""
    if "://" in path or os.path.isdir(path):
        return
    if os.path.exists(path):
        raise UsageError(
            f"{path} is not a directory: give a model's base directory (holding numbered version "
            "directories such as 1/saved_model.pb) or a SavedModel directory"
        )
    raise UsageError(f"{path} does not exist: give a model's base directory or a SavedModel")


def _absolute(path: str) -> str:
    if "://" in path:  # a file-system URI (gs://, s3://...): no local meaning to resolve
        return path
    return os.path.abspath(os.path.expanduser(path))


def options_from_args(args: argparse.Namespace) -> ServerOptions:
    """The :class:`ServerOptions` that ``pyserving serve`` ``args`` describe."""
    if args.version_policy and args.model_config_file:
        raise UsageError("--version-policy applies to model PATHs; a config file has its own")
    if args.paths and args.model_config_file:
        raise UsageError("give model PATHs or --model-config-file, not both")
    if not args.paths and not args.model_config_file:
        raise UsageError("give at least one model PATH (or --model-config-file)")
    if args.port != 0 and args.port == args.rest_port:
        raise UsageError(f"--port and --rest-port are both {args.port}")
    models = [parse_model_arg(arg) for arg in args.paths]
    names = [name for name, _ in models]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"model name given twice: {', '.join(duplicates)}")
    for _, path in models:
        _check_exists(path)
    options = ServerOptions(
        port=args.port,
        rest_api_port=args.rest_port,
        file_system_poll_wait_seconds=args.poll_seconds,
        enable_batching=args.batching,
        batching_defaults="serve",
        log_format=args.log_format,
        access_log=args.access_log,
        metrics_path=DEFAULT_PROMETHEUS_PATH if args.metrics else "",
        enable_model_warmup=args.warmup,
        inline_version_policy=args.version_policy or "",
        # Friendlier than TF Serving at startup: serve what loads, report the rest at once.
        keep_serving_on_load_failure=True,
        retry_deterministic_load_errors=False,
        serve_unversioned_as_v1=True,
        port_flag_names=("--port", "--rest-port"),
        enable_console=args.console,
        default_platform="auto",
        auth_tokens_file=_absolute(args.auth_tokens_file) if args.auth_tokens_file else "",
        enable_admin_api=args.enable_admin_api,
        model_base_path_allowlist=args.model_base_path_allowlist,
        ssl_config_file=args.ssl_config_file,
        rest_api_ssl_config_file=args.ssl_config_file,
    )
    if args.model_config_file:
        return dataclasses.replace(options, model_config_file=_absolute(args.model_config_file))
    if len(models) == 1:
        (name, path) = models[0]
        return dataclasses.replace(options, model_name=name, model_base_path=path)
    return dataclasses.replace(options, model_config_inline=tuple(models))


def main(argv: list[str] | None = None) -> int:
    """Run ``pyserving``; ``argv`` excludes the program name (default: sys.argv)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on errors: return the status
        return exit_.code if isinstance(exit_.code, int) else _USAGE_ERROR
    if args.version or args.command == "version" or getattr(args, "serve_version", False):
        sys.stdout.write(version_text())
        return 0
    if args.command == "token":
        return token_command.run(args)
    if args.command != "serve":
        build_parser().print_help(sys.stderr)
        return _USAGE_ERROR
    try:
        options = options_from_args(args)
        validate(options)
    except UsageError as error:
        print(f"pyserving serve: error: {error}", file=sys.stderr)
        return _USAGE_ERROR
    except ServingError as error:
        print(f"pyserving serve: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return launch_server(options)
