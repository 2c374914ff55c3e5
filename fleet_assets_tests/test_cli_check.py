"""`fleet check`: the repository's targets pass; every mistake of a bad file is printed."""

from __future__ import annotations

from fleet_assets.cli import main as cli
from fleet_assets.settings import REPO_ROOT


def test_check_passes_the_repository_targets(capsys):
    assert cli.main(["check", str(REPO_ROOT / "targets.yaml")]) == 0
    assert "3 target(s) OK: shop, news, jobs" in capsys.readouterr().out


def test_check_prints_every_mistake_of_a_file(tmp_path, capsys):
    bad = tmp_path / "targets.yaml"
    bad.write_text(
        "targets:\n"
        "  - name: Bad Name\n"                                 # 1. not a slug
        "    urls: ['http://127.0.0.1:1/a']\n"
        "    record:\n"
        "      fields: {title: {css: 'h1', type: text}}\n"     # 2. unknown field type
        "      required: [title]\n"
        "  - name: jobs\n"
        "    urls: ['http://127.0.0.1:1/b']\n"
        "    timeout_seconds: -5\n"                            # 3. a negative timeout
        "    record:\n"
        "      fields: {title: {css: 'h1', type: str}}\n"
        "      required: [title]\n"
    )
    assert cli.main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err, err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 3, err


def test_check_of_a_missing_file_names_the_path_not_fleet_targets(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert cli.main(["check", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such file; check the path" in err and "FLEET_TARGETS" not in err
