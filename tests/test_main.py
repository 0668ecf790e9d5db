"""The demo behind ``python -m sklearn_sae``."""

import importlib.util
import re
import subprocess
import sys

import pytest

from sklearn_sae.__main__ import main


def test_demo_prints_both_accuracies_and_saves_the_filters(capsys, tmp_path):
    image = tmp_path / "filters.png"
    gain = main(["--n-components", "30", "--max-iter", "30", "--filters", str(image)])
    out = capsys.readouterr().out
    accuracies = [float(a) for a in re.findall(r"accuracy (\d\.\d{4})", out)]
    assert len(accuracies) == 2
    assert "raw pixels -> LogisticRegression" in out
    assert "SparseAutoencoder(30) -> LogisticRegression" in out
    assert all(0.8 < a <= 1.0 for a in accuracies)
    # The gain printed and returned is that of the features over the pixels,
    # in points (to the rounding of the printed accuracies).
    printed = float(re.search(r"([+-]\d+\.\d\d) points", out).group(1))
    assert printed == pytest.approx(gain, abs=0.005)
    assert gain == pytest.approx(100 * (accuracies[1] - accuracies[0]), abs=0.011)
    if importlib.util.find_spec("matplotlib") is not None:
        assert f"filters saved to {image}" in out
        assert image.read_bytes().startswith(b"\x89PNG")


def test_empty_filters_path_saves_no_image(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["--n-components", "5", "--max-iter", "3", "--filters", ""])
    assert "filters saved" not in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_help_runs_as_a_module():
    completed = subprocess.run(
        [sys.executable, "-m", "sklearn_sae", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "usage: python -m sklearn_sae" in completed.stdout
    assert "--mnist" in completed.stdout


def test_bad_option_is_rejected():
    with pytest.raises(SystemExit):
        main(["--max-iter", "many"])


def test_demo_on_mnist_uses_the_tutorial_settings(mnist_dir, capsys):
    gain = main(
        [
            "--mnist",
            "--data-home",
            str(mnist_dir),
            "--n-train",
            "500",
            "--n-components",
            "20",
            "--max-iter",
            "5",
            "--filters",
            "",
        ]
    )
    out = capsys.readouterr().out
    assert "MNIST (float32): 500 training and 10000 test samples, 784 features" in out
    assert "rho=0.1, beta=3, alpha=0.003" in out
    printed = float(re.search(r"([+-]\d+\.\d\d) points", out).group(1))
    assert printed == pytest.approx(gain, abs=0.005)
