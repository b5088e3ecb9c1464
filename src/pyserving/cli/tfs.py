"""``tensorflow_model_server``: the drop-in entry point, behaving like TF Serving's ``main.cc``.

Streams and exit codes are part of the contract (scripts and container health checks read them):

* bad flag value, or ``--help`` as the first leftover argument: the ``Couldn't interpret value``
  errors on stderr, the usage on stdout, exit 255 (TF's ``main`` returns -1);
* ``--version``: TF Serving's two lines, then a ``pyserving:`` line, on stdout, exit 0, checked
  after parsing and before anything else, so TensorFlow is not imported and no model is loaded;
* unknown arguments: ``unknown argument: <first one>`` and the usage on stdout, then start anyway;
* inconsistent flags: ``Failed to start server. Error: <CODE>: <message>`` on stdout, exit 255.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Final, Protocol, cast

from pyserving import __version__
from pyserving.config.flags import (
    parse_flags,
    unsupported_flag_message,
    unsupported_flags_in_use,
    usage,
    validate,
)
from pyserving.config.options import ServerOptions
from pyserving.errors import ServingError

__all__ = ["EXIT_FAILURE", "launch_server", "main", "start_failure_text", "version_text"]

_log = logging.getLogger(__name__)

#: Exit status of a failed start: TF's ``main`` returns -1, which the OS reports as 255.
EXIT_FAILURE: Final = 255
_PROGRAM: Final = "tensorflow_model_server"
# Distributions that provide the `tensorflow` module, in the order they are looked up.
_TENSORFLOW_DISTRIBUTIONS: Final = ("tensorflow-cpu", "tensorflow")


class _RunServer(Protocol):
    def __call__(self, options: ServerOptions, /) -> int: ...


def version_text() -> str:
    """TF Serving's two ``--version`` lines (scripts read them), then pyserving's own. Reads
    package metadata only: never imports TensorFlow."""
    return (
        f"TensorFlow ModelServer: {__version__}\nTensorFlow Library: {_tensorflow_version()}\n"
        f"pyserving: {__version__} (a TensorFlow Serving compatible model server)\n"
    )


def _tensorflow_version() -> str:
    # Imported here: importlib.metadata (with email and zipfile) costs start-up time every server
    # pays, and only --version needs it.
    import importlib.metadata

    for distribution in _TENSORFLOW_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def start_failure_text(error: ServingError) -> str:
    """TF's line for a server that could not start (``std::cout << status``), with newline."""
    return f"Failed to start server. Error: {error}\n"


def main(argv: list[str] | None = None) -> int:
    """Run ``tensorflow_model_server``; ``argv`` excludes the program name (default: sys.argv)."""
    program = sys.argv[0] if argv is None else _PROGRAM
    parsed = parse_flags(sys.argv[1:] if argv is None else argv)
    text = usage(program)
    for error in parsed.errors:
        print(error, file=sys.stderr)
    if not parsed.ok:
        sys.stdout.write(text)
        return EXIT_FAILURE
    if parsed.version_requested:
        sys.stdout.write(version_text())
        return 0
    if parsed.unknown:
        sys.stdout.write(f"unknown argument: {parsed.unknown[0]}\n{text}")
        for extra in parsed.unknown[1:]:  # TF names only the first; say the rest are ignored too
            _log.warning("unknown argument ignored: %s", extra)
    options = parsed.options
    try:
        validate(options)
    except ServingError as error:
        sys.stdout.write(start_failure_text(error))
        return EXIT_FAILURE
    for name in unsupported_flags_in_use(parsed):
        _log.warning(unsupported_flag_message(name))
    if options.monitoring_config_file and options.rest_api_port == 0:
        _log.warning("--monitoring_config_file has no effect without --rest_api_port")
    sys.stdout.flush()  # keep the usage text ahead of whatever the server prints
    return launch_server(options)


def quiet_tensorflow_startup() -> None:
    """Hide TensorFlow's start-up INFO lines (oneDNN notices, cpu_feature_guard): the default
    ``TF_CPP_MIN_LOG_LEVEL`` becomes 1 (warnings and errors). A value the user set wins
    (``TF_CPP_MIN_LOG_LEVEL=0`` brings them back). Must run before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def launch_server(options: ServerOptions) -> int:
    """``pyserving.server.run_server(options)``, imported only now (both CLIs start here).

    Imported late so that --help/--version stay fast and never pull in the server's imports;
    looked up by name so this module type-checks before pyserving.server exists (make it a
    plain ``from pyserving.server import run_server`` once it does).
    """
    quiet_tensorflow_startup()
    server = importlib.import_module("pyserving.server")
    run_server = cast(_RunServer, server.run_server)
    return run_server(options)
