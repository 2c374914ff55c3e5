"""What every ``fleet`` command shares: the help format, the error type and target lookups."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from fleet_assets.lib.failures import FleetError

if TYPE_CHECKING:
    from fleet_assets.lib.targets import Target


class CliError(FleetError):
    """Bad input or a refused action: ``main`` prints ``fleet <command>: <message>``, exits 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (None, False, "", a flag).

    A flag (``--no-wait``: store_false) takes no value, so its default (True) would read as
    "this flag is on by default", the opposite of what it means.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        if (action.default in (None, False, "", argparse.SUPPRESS) or action.required
                or action.nargs == 0):
            return action.help or ""
        return super()._get_help_string(action) or ""


def add_command(sub: argparse._SubParsersAction, name: str, help_: str,
                description: str | None = None) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=description or help_,
                          formatter_class=HelpFormatter)


def configured_targets() -> dict[str, Target]:
    """targets.yaml (``FLEET_TARGETS``) loaded and validated; a bad file raises its error."""
    from fleet_assets.lib.targets import load_targets
    from fleet_assets.settings import targets_path

    return load_targets(targets_path())


def require_targets(names: Iterable[str], known: dict[str, Target], option: str = "--target") -> None:
    """Every name is a configured target, or a ``CliError`` naming the unknown and the known."""
    from fleet_assets.settings import targets_path

    unknown = sorted(set(names) - set(known))
    if unknown:
        raise CliError(f"{option} {', '.join(unknown)}: not in {targets_path()} "
                       f"(known: {', '.join(sorted(known)) or 'none'})")


def parse_date(text: str, option: str = "--date") -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise CliError(f"{option} {text!r}: write dates as YYYY-MM-DD") from None


def recent_days(end: str | None, days: int) -> list[str]:
    """``days`` dates ending at ``end`` (default yesterday, the newest complete day)."""
    if days < 1:
        raise CliError(f"--days {days}: give at least 1")
    last = dt.date.fromisoformat(parse_date(end, "--end")) if end else (
        dt.date.today() - dt.timedelta(days=1))
    return [(last - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
