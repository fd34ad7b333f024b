"""Damaged flat-form inputs never crash the back stage: each either imports
or fails with exit code 1 and one line on stderr. The inputs are the lit
tests' flat files (scan loops, masks, composites, reductions) with numbers,
shapes, comparison directions or whole lines changed by a seeded generator,
so that the folding, scan raising and conversion steps all see inputs their
checks must reject."""

import pathlib
import random
import re
import subprocess

from mixir import stablehlo as shlo

ROOT = pathlib.Path(__file__).resolve().parents[3]
SEEDS = sorted((ROOT / "test" / "Import" / "StableHLO").glob("*.mlir"))


def damage(text, rng):
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if not line.startswith("//")]
    for _ in range(rng.randint(1, 3)):
        k = rng.choice(body)
        kind = rng.random()
        if kind < 0.35:
            nums = list(re.finditer(r"\d+", lines[k]))
            if nums:
                m = rng.choice(nums)
                lines[k] = (lines[k][:m.start()] + str(rng.choice([0, 1, 2, 3, 5, 37, 9999]))
                            + lines[k][m.end():])
        elif kind < 0.5:
            lines[k] = ""
        elif kind < 0.65:
            lines[k] = lines[k].replace("LT", rng.choice(["GT", "EQ", "XX"]))
        elif kind < 0.85:
            lines[k] = re.sub(r"tensor<(\d+)x", lambda _: f"tensor<{rng.choice([1, 2, 3, 5])}x",
                              lines[k], count=1)
        else:
            j = rng.choice(body)
            lines[k], lines[j] = lines[j], lines[k]
    return "\n".join(lines)


def test_damaged_flat_inputs_never_crash(tmp_path):
    assert len(SEEDS) >= 10
    rng = random.Random(20261127)
    tool = shlo.importer_path()
    outcomes = {"imported": 0, "rejected": 0}
    for i in range(150):
        seed = SEEDS[i % len(SEEDS)]
        path = tmp_path / f"case{i}.mlir"
        path.write_text(damage(seed.read_text(), rng))
        r = subprocess.run([tool, str(path), "-o", str(tmp_path / "out.mlir")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode in (0, 1), (seed.name, r.returncode, r.stderr[-400:])
        if r.returncode == 1:
            lines = r.stderr.strip().split("\n")
            assert len(lines) == 1 and lines[0].startswith("mixir-import-stablehlo: "), \
                (seed.name, r.stderr[-400:])
            outcomes["rejected"] += 1
        else:
            outcomes["imported"] += 1
    # The generator must exercise both outcomes to mean anything.
    assert outcomes["rejected"] > 20 and outcomes["imported"] > 5, outcomes
