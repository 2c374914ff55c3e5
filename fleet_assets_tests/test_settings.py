"""settings.py: every FLEET_* variable read in one place, typed, and the README table from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleet_assets import settings
from fleet_assets.lib.failures import ConfigError

PACKAGE = Path(settings.__file__).parent
NOT_VARIABLES = {"FLEET_USER_AGENT"}  # a constant's name, not an environment variable


def test_readme_environment_table_is_generated_from_the_registry():
    readme = (settings.REPO_ROOT / "README.md").read_text()
    assert settings.markdown_table() in readme


def test_every_fleet_variable_the_code_names_is_in_the_registry():
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"\bFLEET_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert named - NOT_VARIABLES <= settings.NAMES


def test_only_settings_reads_fleet_variables_from_the_environment():
    # A write (the CLI exports FLEET_SANDBOX_URL for the runs it starts) is not a read.
    reads = re.compile(r"""(environ\.get|getenv)\(\s*["']FLEET_|environ\[["']FLEET_\w+["']\](?!\s*=[^=])""")
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.name != "settings.py" and reads.search(p.read_text())]
    assert offenders == []


def test_lib_never_imports_settings():
    offenders = [str(p) for p in (PACKAGE / "lib").rglob("*.py")
                 if re.search(r"^\s*(from|import) fleet_assets(\.settings| import settings)",
                              p.read_text(), re.M)]
    assert offenders == []


def test_defaults(monkeypatch):
    for name in settings.NAMES:
        monkeypatch.delenv(name, raising=False)
    assert settings.fleet_home() == (settings.REPO_ROOT / ".fleet").resolve()
    assert settings.targets_path() == (settings.REPO_ROOT / "targets.yaml").resolve()
    assert settings.fleet_env() == "local"
    assert (settings.launch_hour(), settings.launch_jitter_seconds(),
            settings.max_recoveries()) == (2, 1800, 3)
    assert settings.celery() == settings.CelerySettings(None, None, "dagster")
    assert settings.dagster_url() == "http://127.0.0.1:3000"


def test_values_are_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEET_HOME", str(tmp_path))
    monkeypatch.setenv("FLEET_LAUNCH_HOUR", " 5 ")
    monkeypatch.setenv("FLEET_S3_BUCKET", "b")
    monkeypatch.setenv("FLEET_S3_PREFIX", "fleet")
    monkeypatch.setenv("FLEET_S3_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("FLEET_CELERY_BROKER", "redis://secret@host/0")
    assert settings.dagster_home() == tmp_path.resolve() / "dagster_home"
    assert settings.launch_hour() == 5
    assert settings.s3() == settings.S3Settings("b", "fleet/", None, 7)
    assert settings.celery().broker == "FLEET_CELERY_BROKER"  # the name, never the value


@pytest.mark.parametrize(("name", "value", "read", "message"), [
    ("FLEET_ENV", "staging", settings.fleet_env, "FLEET_ENV='staging' is not one of local, prod"),
    ("FLEET_LAUNCH_HOUR", "two", settings.launch_hour, "FLEET_LAUNCH_HOUR='two' is not a whole"),
    ("FLEET_LAUNCH_HOUR", "24", settings.launch_hour, "use 0-23"),
    ("FLEET_MAX_RECOVERIES", "-1", settings.max_recoveries, "FLEET_MAX_RECOVERIES='-1'"),
    ("FLEET_S3_MAX_ATTEMPTS", "0", settings.s3, "FLEET_S3_MAX_ATTEMPTS='0' is not a whole number >= 1"),
])
def test_bad_values_name_the_variable_and_the_fix(monkeypatch, name, value, read, message):
    monkeypatch.setenv("FLEET_S3_BUCKET", "b")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        read()
    assert message in str(info.value)


def test_prod_without_a_bucket_says_which_variable(monkeypatch):
    monkeypatch.delenv("FLEET_S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="FLEET_ENV=prod needs FLEET_S3_BUCKET"):
        settings.s3()


def test_an_unregistered_name_is_a_bug_not_a_silent_default():
    with pytest.raises(KeyError):
        settings._raw("FLEET_TYPO")
