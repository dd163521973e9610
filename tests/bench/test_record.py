import json

import pytest

from lanser_fast.bench import RECORD_FORMAT, Measurement, Record, markdown_table, update_readme


def _record():
    record = Record.new()
    common = dict(stage="decode", workload="8 clips", unit="audio-h/device-h", threads=1)
    record.add(Measurement.from_times([2.0, 1.0, 4.0], work=3600.0, impl="ours", role="ours",
                                      **common))
    record.add(Measurement.from_times([4.0, 4.0, 8.0], work=3600.0, impl="ref", role="reference",
                                      **common))
    return record


def test_measurement_statistics_and_ratio():
    record = _record()
    ours, ref = record.results
    assert (ours.min, ours.median, ours.max, ours.repeats) == (900.0, 1800.0, 3600.0, 3)
    assert ref.median == 900.0
    assert record.ratios() == [{"stage": "decode", "workload": "8 clips", "ours": "ours",
                                "reference": "ref", "ratio": 2.0}]


def test_record_round_trip_names_the_machine(tmp_path):
    path = _record().save(tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["format"] == RECORD_FORMAT
    assert data["machine"]["logical_cpus"] >= 1 and data["machine"]["cpu"]
    assert "torch" in data["libraries"]
    loaded = Record.load(path)
    assert loaded.results == _record().results  # fixed times: identical measurements
    assert loaded.ratios()[0]["ratio"] == 2.0


def test_table_and_readme_update(tmp_path):
    table = markdown_table(_record())
    assert "| decode | 8 clips | ours | ours | 1 | 1,800 audio-h/device-h" in table
    assert "| 2.00× |" in table and "CPUs" in table
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-table:start -->\nold\n<!-- bench-table:end -->\nend\n")
    update_readme(readme, _record())
    text = readme.read_text()
    assert "old" not in text and "| 2.00× |" in text and text.endswith("end\n")
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(ValueError, match="bench-table"):
        update_readme(tmp_path / "bare.md", _record())


def test_named_block_leaves_the_main_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-table:start -->\nmain\n<!-- bench-table:end -->\n"
                      "<!-- bench-table:asr:start -->\nold\n<!-- bench-table:asr:end -->\n")
    update_readme(readme, _record(), "asr")
    text = readme.read_text()
    assert "main" in text and "old" not in text and "| 2.00× |" in text
    with pytest.raises(ValueError, match="bench-table:nli:start"):
        update_readme(readme, _record(), "nli")


def test_load_rejects_other_json(tmp_path):
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match=RECORD_FORMAT):
        Record.load(tmp_path / "x.json")
