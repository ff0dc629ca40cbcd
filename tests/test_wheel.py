"""The wheel as a user installs it: built from this checkout, installed (not editable) into a fresh virtual
environment, and run. Package data left out of the wheel (record schema, model cards, calibration tables, the quality
model, the canonical mesh) or a missing entry point fails here, where the editable install would hide it."""

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

import jsonschema
import pytest
from helpers import ASTRONAUT

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the built wheel; its dependencies are the test environment's (a path, so the
    editable install's finder there is not loaded)."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    [wheel] = (root / "dist").glob("faceatlas-*.whl")
    environment = root / "venv"
    venv.create(environment, with_pip=False)
    packages = next(environment.glob("lib/python*/site-packages"))
    (packages / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(packages), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    return environment


def run(environment: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(environment / "bin" / "python"), *args], capture_output=True, text=True, timeout=600)


def test_the_installed_wheel_is_the_package_imported(installed: Path):
    where = run(installed, "-c", "import faceatlas; print(faceatlas.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(installed))


def test_the_installed_wheel_analyses_a_photo_with_every_head(installed: Path):
    result = run(installed, "-m", "faceatlas.cli", "analyze", str(ASTRONAUT), "--embed", "--attributes", "--json", "-")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    schema = run(installed, "-c", "import json; from faceatlas.io.records import record_schema; "
                                  "print(json.dumps(record_schema()))")
    jsonschema.validate(record, json.loads(schema.stdout))
    face = record["faces"][0]
    assert len(face["embedding"]) == 128 and 0 < face["attributes"]["quality"] <= 1 and "yaw" in face["attributes"]


def test_the_installed_wheel_has_its_cards_calibration_and_hooks(installed: Path):
    code = ("from importlib.metadata import entry_points; from faceatlas.models import get_card; "
            "from faceatlas.gallery.hooks import MERGE_HOOKS; "
            "print(get_card('sface-2021dec-int8bq').threshold_at(1e-4), MERGE_HOOKS.names())")
    result = run(installed, "-c", code)
    assert result.returncode == 0, result.stderr
    threshold, hooks = result.stdout.split(maxsplit=1)
    assert 0.3 < float(threshold) < 0.6 and "library" in hooks
