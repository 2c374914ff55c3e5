"""The fleet command freezes its heap before the interpreter exits; in-process callers never."""

from __future__ import annotations

import gc

from fleet_assets.cli import main as cli


def test_only_the_process_own_command_line_freezes_the_heap(monkeypatch):
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(cli, "_run", lambda argv: 3)
    assert cli.main(["status"]) == 3 and frozen == []  # a test or a library caller
    assert cli.main() == 3 and frozen == [True]  # `fleet ...`: the process ends next
