"""read_yaml: a configuration file is read whole and sane, or refused listing every problem."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from fleet_assets.lib import config
from fleet_assets.lib.config import Problem, TargetConfigError, location, problems_from, read_yaml


def _refused(tmp_path, text: str | bytes) -> TargetConfigError:
    path = tmp_path / "targets.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(TargetConfigError) as err:
        read_yaml(path)
    return err.value


def test_a_sane_file_is_read_as_data_and_an_empty_one_is_none(tmp_path):
    (tmp_path / "a.yaml").write_text("\ufeffbase: &b {x: 1}\nt:\n  <<: *b\n  y: [1, 2]\n")
    assert read_yaml(tmp_path / "a.yaml") == {"base": {"x": 1}, "t": {"x": 1, "y": [1, 2]}}
    (tmp_path / "e.yaml").write_text("")
    assert read_yaml(tmp_path / "e.yaml") is None


def test_a_missing_file_says_so_with_the_hint(tmp_path):
    with pytest.raises(TargetConfigError, match="no such file; set FLEET_TARGETS"):
        read_yaml(tmp_path / "nope.yaml", missing_hint="set FLEET_TARGETS")


def test_every_duplicate_key_is_listed_with_its_line(tmp_path):
    err = _refused(tmp_path, "a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n")
    assert [p.message for p in err.problems] == ["duplicate key 'a'; keep one of them",
                                                 "duplicate key 'd'; keep one of them"]
    assert {p.where.rsplit(": ", 1)[-1] for p in err.problems} == {"line 3", "line 6"}
    assert str(err).startswith("2 problems in ")


def test_bytes_that_are_not_utf8_name_the_line_and_the_byte(tmp_path):
    err = _refused(tmp_path, b"a: 1\nb: caf\xe9\n")
    assert "line 2: byte 0xe9 is not UTF-8; save the file as UTF-8" in str(err)


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_BYTES", 64)
    assert "larger than 64 bytes" in str(_refused(tmp_path, "a: " + "x" * 100))


def test_too_deep_a_document_is_refused(tmp_path):
    err = _refused(tmp_path, "[" * (config.MAX_DEPTH + 5) + "]" * (config.MAX_DEPTH + 5))
    assert f"nested deeper than {config.MAX_DEPTH} levels" in str(err)


def test_an_alias_bomb_is_measured_on_the_graph_and_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    err = _refused(tmp_path, "\n".join(lines) + "\n")
    assert "aliases expand to more than" in str(err) and "alias bomb" in str(err)


def test_invalid_yaml_is_one_problem_naming_the_file(tmp_path):
    err = _refused(tmp_path, "a: [1, 2\n")
    assert "not valid YAML" in str(err) and "targets.yaml" in str(err)


def test_a_yaml_syntax_error_is_one_line_naming_where_and_the_fix(tmp_path):
    """PyYAML's own text spans four lines and names the file "<unicode string>"."""
    err = str(_refused(tmp_path, "targets:\n  - name: shop\n   urls: [a\n"))
    assert "\n" not in err and "<unicode string>" not in err
    assert "line 3, column 4: not valid YAML: expected <block end>" in err
    assert "(while parsing a block collection from line 2, column 3)" in err
    assert err.endswith("check the indentation, quotes and brackets there")


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    n: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[Inner]


def test_pydantic_errors_become_problems_naming_the_field_and_the_allowed_keys():
    with pytest.raises(ValidationError) as err:
        Outer.model_validate({"items": [{"n": 1}, {"n": 2, "m": 3}, {}]})
    problems = problems_from(err.value, "target 'shop'", Outer)
    assert Problem("target 'shop'.items[1].m", "unknown key; allowed: n") in problems
    assert Problem("target 'shop'.items[2].n", "is required; add it") in problems


def test_a_location_reads_like_the_yaml_path():
    assert location("target 'shop'", ["record", "fields", "[key]"]) == \
        "target 'shop'.record.fields (the name)"
    assert location("", ["urls", 0]) == "urls[0]"
