"""``python -m hubspot_pipeline.local``: seeding from the command line."""

from __future__ import annotations

import pytest

from hubspot_pipeline.local.__main__ import main
from hubspot_pipeline.local.share_schema import DEFAULT_DATABASE, DEFAULT_SCHEMA


def test_seed_generated_prints_the_rows_per_table(tmp_path, capsys, read_share):
    main(["seed", "--db-path", str(tmp_path), "--contacts", "40", "--days", "2", "--events-per-day", "30",
          "--end-date", "2024-01-31", "--dirty-share", "0", "--event-table", "EVENTS_OTHER"])  # fmt: skip

    printed = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert printed["OBJECTS_CONTACTS"] == "40"
    assert printed["EVENTS_OTHER"] == "60"
    last = read_share(tmp_path, "SELECT MAX(OCCURREDAT) AS last FROM EVENTS_OTHER")["last"][0]
    assert str(last.date()) == "2024-01-31"


@pytest.mark.parametrize("all_text", [False, True], ids=["typed", "all-text"])
def test_seed_types_the_property_columns_unless_all_text(tmp_path, capsys, share_columns, all_text):
    main(["seed", "--db-path", str(tmp_path), "--contacts", "20", "--days", "1", "--events-per-day", "10",
          *(["--all-text"] if all_text else [])])  # fmt: skip

    columns = share_columns(tmp_path, DEFAULT_DATABASE, DEFAULT_SCHEMA).set_index(
        ["table_name", "column_name"]
    )
    price = columns.loc[("OBJECTS_PRODUCTS", "PROPERTY_PRICE"), "data_type"]
    assert price == ("TEXT" if all_text else "NUMBER")


def test_seed_tutorial_needs_the_sample_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["seed", "--source", "tutorial", "--db-path", str(tmp_path)])
    assert "--sample-dir" in capsys.readouterr().err


def test_seed_tutorial(tmp_path, tutorial_sample_dir, capsys):
    main(
        ["seed", "--source", "tutorial", "--db-path", str(tmp_path), "--sample-dir", str(tutorial_sample_dir)]
    )

    assert "OBJECTS_PRODUCTS 2465" in capsys.readouterr().out.splitlines()
