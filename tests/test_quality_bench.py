"""benchmarks/quality.py end to end in its --quick mode (small sizes; no timing is asserted)."""

from __future__ import annotations

import json

from PIL import Image

from benchmarks import quality
from vgg.report.plot import SIZE


def test_quick_mode_runs_every_method_and_writes_the_table_the_curves_and_the_points(tmp_path, capsys):
    prefix = tmp_path / "q"
    assert quality.main(["--quick", "--output", str(prefix)]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == ["method", "adam", "lbfgs, coarse to fine", "lbfgs", "adam, coarse to fine"]
    with Image.open(f"{prefix}.png") as img:
        assert img.size == SIZE
    data = json.loads((tmp_path / "q.json").read_text())
    adam = data["results"]["adam"]["points"]
    assert [p[1] for p in adam] == list(range(31)) and data["target"] == adam[-1][2]  # 30 iterations: 31 reads
    for name, result in data["results"].items():
        times = [p[0] for p in result["points"]]
        assert times == sorted(times) and len(times) > 1, name
    coarse = data["results"]["adam, coarse to fine"]["points"]
    assert coarse[0][1] == 20  # only the full size is plotted: after the 2 x 10 coarse iterations
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert "s to Adam's loss at 30 " in table[0] and "s to Adam's loss at 7 " in table[0]
    assert table[1].startswith("| adam |") and table[1].count("(1.00x)") == 3  # itself, at its three milestones
    capsys.readouterr()
    assert quality.main(["--from-json", str(tmp_path / "q.json"), "--output", str(tmp_path / "again")]) == 0
    again = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert again == table  # the same table from the saved points
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "q.png").read_bytes()
