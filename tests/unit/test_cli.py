"""The two command lines: ``tensorflow_model_server`` (TF's main.cc) and ``pyserving``."""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pyserving import __version__
from pyserving.cli import main as pyserving_cli
from pyserving.cli import tfs
from pyserving.config.flags import usage
from pyserving.config.models import config_from_options
from pyserving.config.options import ServerOptions

BIN = Path(sys.executable).parent
USAGE = usage("tensorflow_model_server")
MODEL = "--model_base_path=/models/m"


class FakeServer:
    """Stands in for pyserving.server: records each run_server call."""

    def __init__(self) -> None:
        self.calls: list[ServerOptions] = []
        self.exit_code = 0

    def run_server(self, options: ServerOptions) -> int:
        self.calls.append(options)
        return self.exit_code


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    module = types.ModuleType("pyserving.server")
    module.__dict__["run_server"] = fake.run_server
    monkeypatch.setitem(sys.modules, "pyserving.server", module)
    return fake


def tf_version() -> str:
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    return "unknown"


VERSION_TEXT = (
    f"TensorFlow ModelServer: {__version__}\nTensorFlow Library: {tf_version()}\n"
    f"pyserving: {__version__} (a TensorFlow Serving compatible model server)\n"
)


# --- tensorflow_model_server ----------------------------------------------------------------


def test_flags_reach_the_server(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert tfs.main(["--port=9000", "--rest_api_port=9001", MODEL]) == 0
    assert capsys.readouterr().out == ""
    [options] = server.calls
    assert (options.port, options.rest_api_port, options.model_base_path) == (
        9000,
        9001,
        "/models/m",
    )


def test_server_exit_code_is_returned(server: FakeServer) -> None:
    server.exit_code = 255
    assert tfs.main([MODEL]) == 255


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["--port=abc", MODEL], "Couldn't interpret value abc for flag port.\n"),
        (["--port=2147483648", MODEL], "Couldn't interpret value 2147483648 for flag port.\n"),
        (
            ["--enable_batching=yes", MODEL],
            "Couldn't interpret value yes for flag enable_batching.\n",
        ),
        (["--help"], ""),
        ([MODEL, "--help"], ""),
        (["--version", "--help"], ""),  # parsing fails before --version is looked at
        (["--version", "--port=x"], "Couldn't interpret value x for flag port.\n"),
    ],
)
def test_bad_value_or_help_prints_usage_and_exits_255(
    argv: list[str], stderr: str, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tfs.main(argv) == 255
    captured = capsys.readouterr()
    assert captured.out == USAGE
    assert captured.err == stderr
    assert server.calls == []


def test_unknown_argument_warns_and_starts(
    server: FakeServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert tfs.main([MODEL, "--nope=1", "stray"]) == 0
    # TF prints only the first unknown argument, then the usage, on stdout.
    assert capsys.readouterr().out == "unknown argument: --nope=1\n" + USAGE
    assert "unknown argument ignored: stray" in caplog.messages
    assert server.calls[0].model_base_path == "/models/m"


def test_space_separated_value_does_not_set_the_flag(
    server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tfs.main(["--port", "9000", MODEL]) == 0
    assert capsys.readouterr().out == "unknown argument: --port\n" + USAGE
    assert server.calls[0].port == 8500


def test_version(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    # --version wins over unknown arguments and missing models: TF checks it right after parsing.
    assert tfs.main(["--version", "stray"]) == 0
    assert capsys.readouterr().out == VERSION_TEXT
    assert server.calls == []


def test_version_without_tensorflow(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert tfs.main(["--version=true"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "TensorFlow Library: unknown"


def test_version_does_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from pyserving.cli.tfs import main\n"
        "code = main(['--version'])\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == VERSION_TEXT


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--port=0", MODEL],
            "At least one of server_options.grpc_port or server_options.grpc_socket_path "
            "must be set.",
        ),
        ([], "Both server_options.model_base_path and server_options.model_config_file are empty!"),
        (
            [MODEL, "--batching_parameters_file=/b.conf"],
            "server_options.batching_parameters_file is set without setting "
            "server_options.enable_batching to true.",
        ),
        (
            [MODEL, "--use_alts_credentials", "--ssl_config_file=/ssl.conf"],
            "Either use_alts_credentials must be false or ssl_config_file must be empty.",
        ),
        (
            [
                MODEL,
                "--tensorflow_session_parallelism=1",
                "--tensorflow_intra_op_parallelism=1",
                "--tensorflow_inter_op_parallelism=1",
            ],
            "Either configure server_options.tensorflow_session_parallelism or "
            "(server_options.tensorflow_intra_op_parallelism, "
            "server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all.",
        ),
    ],
)
def test_invalid_flags_fail_to_start(
    argv: list[str], message: str, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tfs.main(argv) == 255
    assert capsys.readouterr().out == (
        f"Failed to start server. Error: INVALID_ARGUMENT: {message}\n"
    )
    assert server.calls == []


def test_unsupported_flags_are_logged(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert (
            tfs.main(
                [MODEL, "--enable_batching", "--port=8600", "--xla_cpu_compilation_enabled=true"]
            )
            == 0
        )
    assert caplog.messages == [
        "--xla_cpu_compilation_enabled is accepted but not supported yet by pyserving; it has no "
        "effect",
    ]
    assert server.calls[0].enable_batching is True


def test_monitoring_without_rest_port_is_logged(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert tfs.main([MODEL, "--monitoring_config_file=/mon.conf"]) == 0
    assert "--monitoring_config_file has no effect without --rest_api_port" in caplog.messages
    assert len(server.calls) == 1


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = BIN / name
    assert script.exists(), f"{script} missing: run `pip install -e .`"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_console_script_version() -> None:
    done = run_script("tensorflow_model_server", "--version")
    assert (done.returncode, done.stdout) == (0, VERSION_TEXT)


def test_console_script_bad_flag() -> None:
    done = run_script("tensorflow_model_server", "--port=abc")
    assert done.returncode == 255
    assert done.stdout == usage(str(BIN / "tensorflow_model_server"))
    assert "Couldn't interpret value abc for flag port." in done.stderr


def test_console_script_failed_start() -> None:
    done = run_script("tensorflow_model_server", "--port=0", MODEL)
    assert done.returncode == 255
    assert done.stdout == (
        "Failed to start server. Error: INVALID_ARGUMENT: At least one of "
        "server_options.grpc_port or server_options.grpc_socket_path must be set.\n"
    )


def test_console_script_pyserving_version() -> None:
    done = run_script("pyserving", "version")
    assert (done.returncode, done.stdout) == (0, VERSION_TEXT)


# --- pyserving ------------------------------------------------------------------------------


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("arg", "name", "relative"),
    [
        ("./models/digits", "digits", "models/digits"),
        ("models/digits/", "digits", "models/digits"),
        ("mnist=./models/digits", "mnist", "models/digits"),
        ("./odd=name/digits", "digits", "odd=name/digits"),  # '=' after a '/' is part of a path
    ],
)
def test_serve_one_path(arg: str, name: str, relative: str, cwd: Path, server: FakeServer) -> None:
    (cwd / relative).mkdir(parents=True)
    assert pyserving_cli.main(["serve", arg]) == 0
    [options] = server.calls
    assert options.model_name == name
    assert options.model_base_path == str(cwd / relative)
    assert options.model_config_inline == ()
    assert (options.port, options.rest_api_port) == (8500, 8501)


def test_serve_several_paths(cwd: Path, server: FakeServer) -> None:
    (cwd / "a").mkdir()
    (cwd / "b").mkdir()
    assert pyserving_cli.main(["serve", "a", f"bee={cwd / 'b'}", "gs://bucket/c"]) == 0
    [options] = server.calls
    assert options.model_config_inline == (
        ("a", str(cwd / "a")),
        ("bee", str(cwd / "b")),
        ("c", "gs://bucket/c"),
    )
    assert (options.model_name, options.model_base_path) == ("default", "")
    assert sorted(p.name for p in cwd.iterdir()) == ["a", "b"]  # nothing written to disk


def test_serve_is_friendlier_than_tf_serving_at_startup(cwd: Path, server: FakeServer) -> None:
    (cwd / "m").mkdir()
    assert pyserving_cli.main(["serve", "m"]) == 0
    [options] = server.calls
    assert options.keep_serving_on_load_failure is True
    assert options.retry_deterministic_load_errors is False
    assert options.serve_unversioned_as_v1 is True
    assert options.port_flag_names == ("--port", "--rest-port")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (None, "does not exist: give a model's base directory or a SavedModel"),
        ("file", "is not a directory"),
    ],
)
def test_serve_a_missing_path_fails_at_once(
    make: str | None,
    error: str,
    cwd: Path,
    server: FakeServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if make == "file":
        (cwd / "m").write_text("not a model")
    assert pyserving_cli.main(["serve", "m"]) == 2
    assert f"{cwd / 'm'} {error}" in capsys.readouterr().err
    assert server.calls == []


def test_serve_options(cwd: Path, server: FakeServer) -> None:
    (cwd / "x").mkdir()
    argv = ["serve", str(cwd / "x"), "--port=9000", "--rest-port", "0", "--poll-seconds", "5"]
    argv += ["--log-format", "json", "--access-log", "--no-batching"]
    assert pyserving_cli.main(argv) == 0
    [options] = server.calls
    assert (options.port, options.rest_api_port, options.file_system_poll_wait_seconds) == (
        9000,
        0,
        5,
    )
    assert (options.log_format, options.access_log, options.enable_batching) == (
        "json",
        True,
        False,
    )


def test_serve_model_config_file(cwd: Path, server: FakeServer) -> None:
    assert pyserving_cli.main(["serve", "--model-config-file", "conf/models.config"]) == 0
    assert server.calls[0].model_config_file == str(cwd / "conf/models.config")


def test_serve_batches_by_default_with_serve_defaults(cwd: Path, server: FakeServer) -> None:
    (cwd / "m").mkdir()
    assert pyserving_cli.main(["serve", "m"]) == 0
    assert pyserving_cli.main(["serve", "m", "--no-batching"]) == 0
    on, off = server.calls
    assert (on.enable_batching, on.batching_defaults) == (True, "serve")
    assert off.enable_batching is False


def test_serve_console_is_on_by_default_and_can_be_disabled(cwd: Path, server: FakeServer) -> None:
    (cwd / "m").mkdir()
    assert pyserving_cli.main(["serve", "m"]) == 0
    assert pyserving_cli.main(["serve", "m", "--no-console"]) == 0
    on, off = server.calls
    assert on.enable_console is True
    assert off.enable_console is False


def test_tensorflow_model_server_console_is_off_by_default(server: FakeServer) -> None:
    assert tfs.main([MODEL]) == 0
    assert tfs.main([MODEL, "--enable_console"]) == 0
    off, on = server.calls
    assert off.enable_console is False
    assert on.enable_console is True


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["serve"], "give at least one model PATH"),
        (["serve", "a", "--model-config-file=m.config"], "not both"),
        (["serve", "a", "x/a"], "model name given twice: a"),
        (["serve", "/"], "cannot infer a model name"),
        (["serve", "name="], "no path after '='"),
        (["serve", "a", "--port=9000", "--rest-port=9000"], "--port and --rest-port are both 9000"),
        (["serve", "a", "--port=70000"], "not a port number"),
        (["serve", "a", "--poll-seconds=2147483648"], "does not fit in 32 bits"),
        (["serve", "a", "--log-format=xml"], "invalid choice"),
        (["serve", "a", "--bogus"], "unrecognized arguments"),
        ([], "usage: pyserving"),
    ],
)
def test_serve_usage_errors(
    argv: list[str], error: str, cwd: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pyserving_cli.main(argv) == 2
    assert error in capsys.readouterr().err
    assert server.calls == []


@pytest.mark.parametrize("argv", [["version"], ["--version"], ["serve", "--version"]])
def test_pyserving_version(
    argv: list[str], server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pyserving_cli.main(argv) == 0
    assert capsys.readouterr().out == VERSION_TEXT
    assert server.calls == []


def test_parse_model_arg_expands_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    assert pyserving_cli.parse_model_arg("m=~/models/m") == ("m", "/home/someone/models/m")


def test_serve_version_policy_metrics_and_warmup(cwd: Path, server: FakeServer) -> None:
    (cwd / "m").mkdir()
    assert pyserving_cli.main(["serve", "m"]) == 0
    argv = ["serve", "m", "--version-policy", "specific:1,3", "--no-metrics", "--no-warmup"]
    assert pyserving_cli.main(argv) == 0
    default, chosen = server.calls
    assert default.metrics_path == "/monitoring/prometheus/metrics"  # TF Serving's default path
    assert (default.enable_model_warmup, default.inline_version_policy) == (True, "")
    assert (chosen.metrics_path, chosen.enable_model_warmup) == ("", False)
    [entry] = config_from_options(chosen).model_config_list.config
    assert list(entry.model_version_policy.specific.versions) == [1, 3]
    [entry] = config_from_options(default).model_config_list.config
    assert not entry.HasField("model_version_policy")


@pytest.mark.parametrize("policy", ["latest:0", "newest", "specific:", "latest:x", "all:2"])
def test_serve_rejects_a_bad_version_policy(
    policy: str, cwd: Path, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "m").mkdir()
    assert pyserving_cli.main(["serve", "m", "--version-policy", policy]) == 2
    assert "use latest:N (N >= 1), all, or specific:1,2" in capsys.readouterr().err
    assert server.calls == []
