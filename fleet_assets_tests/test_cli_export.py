"""`fleet export`: each format written, rows filtered, an unknown table named."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq

from fleet_assets.cli import main as cli


def test_export_writes_each_format(fleet_env, tmp_path, capsys):
    for fmt in ("parquet", "csv", "jsonl"):
        out = tmp_path / f"agg.{fmt}"
        assert cli.main(["export", "aggregates", "--format", fmt, "-o", str(out)]) == 0
        assert f"wrote 0 row(s) of aggregates to {out} ({fmt})" in capsys.readouterr().out
        assert out.exists()
    assert pq.read_table(tmp_path / "agg.parquet").column_names == ["target", "date", "metric", "value"]
    with open(tmp_path / "agg.csv") as f:
        assert next(csv.reader(f)) == ["target", "date", "metric", "value"]
    assert cli.main(["export", "nope"]) == 2
    assert "no table 'nope' in the warehouse" in capsys.readouterr().err


def test_export_filters_rows(fleet_env, sandbox, tmp_path, capsys):
    assert cli.main(["demo", "--target", "jobs", "--days", "1", "--end", "2025-06-10",
                     "--workers", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "jobs.jsonl"
    assert cli.main(["export", "records", "--format", "jsonl", "-o", str(out), "--target", "jobs",
                     "--from", "2025-06-10", "--to", "2025-06-10"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 15 and {r["target"] for r in rows} == {"jobs"}
    typed = tmp_path / "typed.jsonl"  # the typed view has a date but no target column
    assert cli.main(["export", "records_jobs", "--format", "jsonl", "-o", str(typed),
                     "--from", "2025-06-10", "--to", "2025-06-10"]) == 0
    assert len(typed.read_text().splitlines()) == 15
    assert cli.main(["export", "records_jobs", "--target", "jobs", "-o", str(typed)]) == 2
    assert "has no target column" in capsys.readouterr().err
    assert cli.main(["export", "records", "-o", str(tmp_path / "none.parquet"), "--target", "shop"]) == 0
    assert pq.read_table(tmp_path / "none.parquet").num_rows == 0


def test_export_refuses_a_reversed_range_before_writing(fleet_env, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert cli.main(["export", "records", "--format", "csv", "-o", str(out),
                     "--from", "2025-06-12", "--to", "2025-06-10"]) == 2
    assert "--from 2025-06-12 is after --to 2025-06-10" in capsys.readouterr().err
    assert not out.exists()


def test_export_into_a_directory_asks_for_a_file(fleet_env, tmp_path, capsys):
    assert cli.main(["export", "records", "-o", str(tmp_path)]) == 2
    assert f"-o {tmp_path}: is a directory; give a file, e.g. {tmp_path}/records.parquet" in (
        capsys.readouterr().err)
