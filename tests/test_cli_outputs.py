"""Where `rerunorch sweep` writes its reports, and what it does when it cannot.

Run against a `rerunorch simulate` process (the `server` fixture of test_cli).
"""

from __future__ import annotations

import json
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import test_cli
from test_cli import Server, sweep_args

import rerunorch.plugins
from rerunorch.notify import Notifier
from rerunorch.plugins import PluginManager, hookimpl
from rerunorch.report.model import SweepReport
from rerunorch.report.output import open_output

server = test_cli.server  # the fixtures: a simulator process, and the CLI against it
run = test_cli.run


def read_in_thread(path: Path) -> tuple[threading.Thread, list[str]]:
    """A reader of the FIFO at ``path`` (so that the sweep's open for writing goes through)."""
    got: list[str] = []

    def read() -> None:
        with path.open(encoding="utf-8") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_a_fifo_is_written_in_place(run: Any, server: Server, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader, got = read_in_thread(fifo)
    ids = server.targets()[20:22]
    result = run(*sweep_args(*ids), "--no-wait", "--report", str(fifo))
    assert result.exit_code == 0, result.output
    reader.join(timeout=30)  # a bound, not a wait: the write above has ended
    assert got, "nothing was written into the FIFO"
    assert sorted(r["target"] for r in json.loads(got[0])["results"]) == sorted(ids)
    assert fifo.is_fifo()


def test_a_symlink_is_written_through_and_kept(run: Any, server: Server, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "junit.xml"
    target.write_text("old")
    link = tmp_path / "junit.xml"
    link.symlink_to(target)
    result = run(*sweep_args(server.targets()[22]), "--no-wait", "--junit", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert ET.parse(target).getroot().tag == "testsuites"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["junit.xml"]


@pytest.mark.parametrize(
    ("flag", "parse"),
    [
        ("--report", lambda text: json.loads(text)["summary"]["targets"]),
        ("--junit", lambda text: int(ET.fromstring(text).get("tests") or 0)),
        ("--markdown", lambda text: int(text.split("| Targets | ")[1].split(" ")[0])),
    ],
)
def test_dash_is_stdout_for_every_report(
    run: Any, server: Server, tmp_path: Path, flag: str, parse: Callable[[str], int]
) -> None:
    ids = server.targets()[23:25]
    result = run(*sweep_args(*ids), "--no-wait", flag, "-")
    assert result.exit_code == 0, result.output
    assert parse(result.stdout) == 2  # stdout holds the report alone...
    assert "summary: 2 targets" in result.stderr  # ...the summary went to stderr
    assert not (tmp_path / "-").exists()


def test_a_missing_folder_is_refused_before_anything_is_sent(
    run: Any, server: Server, tmp_path: Path
) -> None:
    before = server.stats()["requests"]
    result = run(*sweep_args(server.targets()[25]), "--junit", "nowhere/j.xml")
    assert result.exit_code == 2
    assert "--junit: cannot write nowhere/j.xml: no folder 'nowhere'" in result.output
    assert server.stats()["requests"] == before
    assert not (tmp_path / ".rerunorch").exists(), "no journal is begun"


def test_a_folder_as_report_path_in_the_config_is_refused_up_front(
    run: Any, server: Server, tmp_path: Path
) -> None:
    (tmp_path / "r.json").mkdir()
    (tmp_path / "c.toml").write_text('[sweep]\nreport = "r.json"\n')
    before = server.stats()["requests"]
    result = run(*sweep_args(server.targets()[25]), "--config", "c.toml")
    assert result.exit_code == 2
    assert "c.toml: sweep.report: " in result.output
    assert "is a directory" in result.output
    assert server.stats()["requests"] == before


def test_report_checks_its_paths_and_takes_dash(run: Any, server: Server) -> None:
    ids = server.targets()[36:38]
    assert run(*sweep_args(*ids), "--no-wait", "--journal", "j.sqlite").exit_code == 0
    missing = run("report", "--journal", "j.sqlite", "--markdown", "nowhere/m.md")
    assert missing.exit_code == 2
    assert "--markdown: cannot write nowhere/m.md: no folder 'nowhere'" in missing.output
    result = run("report", "--journal", "j.sqlite", "--report", "-")
    assert result.exit_code == 0, result.output
    assert sorted(r["target"] for r in json.loads(result.stdout)["results"]) == sorted(ids)


class Saboteur:
    """A notifier (run before the reports are written) that puts a folder where one goes."""

    name = "saboteur"
    description = "turns the report path into a folder"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        self.path.mkdir()


def test_a_late_write_failure_keeps_the_exit_code_and_finishes_the_journal(
    run: Any, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Plugin:
        @hookimpl
        def rerunorch_register_notifiers(self, register: Callable[[Notifier], None]) -> None:
            register(Saboteur(tmp_path / "j.xml"))

    manager = PluginManager()
    manager.register(Plugin(), name="saboteur")
    monkeypatch.setattr(rerunorch.plugins, "load_plugins", lambda: manager)
    ids = server.targets()[26:28]
    args = [*sweep_args(*ids), "--no-wait", "--notify", "saboteur"]
    result = run(*args, "--junit", "j.xml", "--report", "r.json")
    assert result.exit_code == 0, result.output
    assert "warning: --junit: could not write j.xml" in result.output
    assert "summary: 2 targets" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["targets"] == 2
    assert "journal: .rerunorch/journal.sqlite" in result.output
    # The journal is finished: the same command runs again without --resume.
    (tmp_path / "j.xml").rmdir()
    again = run(*args[:-2], "--junit", "j.xml")
    assert again.exit_code in (0, 1), again.output
    assert ET.parse(tmp_path / "j.xml").getroot().tag == "testsuites"


def test_an_unexpected_error_with_v_prints_the_traceback_and_exits_3(
    run: Any, server: Server, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    args = [*sweep_args(server.targets()[28]), "--journal", "file/j.sqlite"]
    quiet = run(*args)
    assert quiet.exit_code == 3
    assert "run with -v for details" in quiet.output
    assert "Traceback" not in quiet.output
    loud = run(*args, "-v")
    assert loud.exit_code == 3
    assert "Traceback (most recent call last)" in loud.output
    assert "error: " in loud.output


@pytest.mark.parametrize(
    "args",
    [
        ["--rate", "nan"],
        ["--poll-interval", "inf"],
        ["--timeout", "NaN"],
        ["--time-scale", "inf"],
    ],
)
def test_nan_and_infinity_are_refused_on_the_command_line(
    run: Any, server: Server, args: list[str]
) -> None:
    before = server.stats()["requests"]
    result = run(*sweep_args(server.targets()[29]), *args)
    assert result.exit_code == 2
    assert "is not a finite number" in result.output
    assert server.stats()["requests"] == before


def test_the_shard_is_part_of_the_resume_check(run: Any, server: Server) -> None:
    ids = server.targets()[30:36]
    first = run(*sweep_args(*ids), "--no-wait", "--shard", "1/2", "--journal", "j.sqlite")
    assert first.exit_code == 0, first.output
    other = run(*sweep_args(*ids), "--shard", "2/2", "--journal", "j.sqlite", "--resume")
    assert other.exit_code == 2
    assert "shard '1/2' -> '2/2'" in other.output
    same = run(
        *sweep_args(*ids), "--no-wait", "--shard", " 1 / 2 ", "--journal", "j.sqlite", "--resume"
    )
    assert same.exit_code == 0, same.output  # the same shard, however it is written


def test_a_failed_write_leaves_a_regular_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")

    def fail_halfway() -> None:
        with open_output(path) as fh:
            fh.write("half")
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    with open_output(path) as fh:
        fh.write("new")
    assert path.read_text() == "new"


def test_markdown_to_the_job_summary_file_appends(
    run: Any, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## Tests of the night\n\nall green", encoding="utf-8")  # no newline
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    ids = server.targets()[38:40]
    # Named relative to the working folder: still the same file.
    result = run(*sweep_args(*ids), "--no-wait", "--markdown", summary.name)
    assert result.exit_code == 0, result.output
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Tests of the night\n\nall green\n## rerunorch: ")
    assert "| Targets | 2 |" in text
    again = run(*sweep_args(server.targets()[44]), "--no-wait", "--markdown", str(summary))
    assert again.exit_code == 0, again.output
    assert summary.read_text(encoding="utf-8").count("## rerunorch: ") == 2


def test_markdown_elsewhere_is_replaced_even_in_a_job(
    run: Any, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    (tmp_path / "m.md").write_text("old", encoding="utf-8")
    result = run(*sweep_args(server.targets()[40]), "--no-wait", "--markdown", "m.md")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.md").read_text(encoding="utf-8").startswith("## rerunorch: ")
    assert not (tmp_path / "step_summary.md").exists()


def test_the_summary_ends_with_the_verdict_and_the_files_written(
    run: Any, server: Server, tmp_path: Path
) -> None:
    ids = server.targets()[41:43]
    result = run(*sweep_args(*ids), "--no-wait", "--junit", "j.xml", "--report", "-")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[-2] == (
        "verdict: 2 reruns triggered and not followed, so not known yet; 0 of 2 runs ended "
        "well: exit 0, nothing still fails."
    )
    assert lines[-1] == "reports: JUnit j.xml"  # stdout holds the JSON, named nowhere
    assert json.loads(result.stdout)["summary"]["targets"] == 2
