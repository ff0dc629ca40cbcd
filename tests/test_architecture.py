"""The shape of the house: layers that point down (import-linter contracts in pyproject.toml), no import cycle,
rooms of a sensible size, a light `import faceatlas`, and one exit code per unrelated error."""

import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

import faceatlas
from faceatlas import errors

SOURCE = Path(faceatlas.__file__).parent
MAX_MODULE_LINES = 450


def test_import_linter_contracts_are_kept():
    assert lint_imports(config_filename=str(Path(__file__).parents[1] / "pyproject.toml"), no_cache=True) == 0


def test_no_import_cycles():
    graph = grimp.build_graph("faceatlas", cache_dir=None, exclude_type_checking_imports=True)
    cycles = _cycles({module: graph.find_modules_directly_imported_by(module) for module in graph.modules})
    assert not cycles, f"import cycles: {cycles}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_is_too_big():
    sizes = {str(path.relative_to(SOURCE)): len(path.read_text().splitlines()) for path in SOURCE.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


@pytest.mark.parametrize("statement", ["import faceatlas", "from faceatlas import FaceAnalyzer; FaceAnalyzer()",
                                       "from faceatlas.cli import app"])
def test_importing_loads_no_model_runtime(statement: str):
    code = f"import sys; {statement}; print(sorted(m for m in ('cv2', 'onnxruntime', 'onnx', 'ai_edge_litert', " \
           "'sqlalchemy', 'faiss') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_unrelated_errors_never_share_an_exit_code():
    by_code: dict[int, type] = {}
    for error in errors.ERRORS:
        other = by_code.setdefault(error.exit_code, error)
        assert issubclass(error, other) or issubclass(other, error), (error, other)
    assert errors.USAGE_EXIT_CODE not in by_code


def test_the_readme_lists_every_error_with_its_exit_code_and_http_status():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for error in errors.ERRORS:
        assert f"| `{error.__name__}` | {error.exit_code} | {error.http_status} |" in readme
