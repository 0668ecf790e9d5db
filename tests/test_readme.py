"""The usage snippet of README.md runs as written."""

import re
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_snippet_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(blocks[0], str(README), "exec"), namespace)
    assert namespace["H"].shape == (1797, 64)
    assert namespace["X_hat"].shape == (1797, 64)
    assert namespace["search"].best_score_ > 0.9
    assert "sae__rho" in capsys.readouterr().out


def test_readme_quick_start_matches_ci():
    quick_start = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    commands = quick_start.group(1).strip().splitlines()
    assert commands == [
        'python -m pip install -e ".[test]" && python -m sklearn_sae',
        "python -m pytest",
    ]
    ci = (README.parent / ".ci" / "run").read_text()
    assert re.search(r"^python -m pytest$", ci, flags=re.M)
