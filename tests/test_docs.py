"""The documentation names only what exists: every repository path, every `module.function`
of the package, every code name in backticks and every relative link in the docs is checked,
so the docs cannot drift from the code again; and no doc cites a path outside the repository."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("[!.]*/README.md")],
    key=str,
)
TOP = ("sim/", "scenarios/", "docs/", "tests/", "benchmarks/", "results/", ".ci/")
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# `module.name` where module is one of the package's modules (rules.supply_step, fields.reach)
MODULES = {p.stem: p for p in (ROOT / "sim").rglob("*.py") if p.stem != "__init__"}


FILES = ("py", "md", "yaml", "parquet", "html", "json", "csv")


def _field(token: str) -> bool:
    """A scenario field's dotted path (`report.collapse_fraction`, `rules.support`)."""
    from pydantic import BaseModel

    from sim.scenario.schema import Scenario

    model: type[BaseModel] | None = Scenario
    for part in token.split("."):
        fields = model.model_fields if model else {}
        if part not in fields:
            return False
        annotation = fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return True


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _names(text: str) -> list[str]:
    return CODE.findall(text)


def _is_path(token: str) -> bool:
    return token.startswith(TOP) and not re.search(r"[<>*{}\s…]|\.\.\.", token)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_path_the_doc_names_exists(doc):
    text = doc.read_text()
    missing = [t for t in _names(text) if _is_path(t) and not (ROOT / t.split(":")[0]).exists()]
    missing += [
        link
        for link in LINK.findall(text)
        if "://" not in link and not (doc.parent / link).exists()
    ]
    assert not missing, f"{doc.relative_to(ROOT)} names what does not exist: {missing}"
    names = {q.name for q in ROOT.rglob("*") if ".venv" not in q.parts}
    outside = [  # a climb to a folder the repository does not have (a sibling of it)
        p for p in re.findall(r"(?:\.\./)+([\w.-]+)", text) if p not in names
    ]
    outside += re.findall(r"(?<![\w.:/])/(?:work|tmp|home|root)/\S*", text)  # this machine's
    assert not outside, f"{doc.relative_to(ROOT)} names paths outside the repository: {outside}"


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_function_the_doc_names_exists(doc):
    text = doc.read_text()
    missing = []
    for token in _names(text):
        token = token.split("(")[0].strip()
        dotted = re.fullmatch(r"(sim(?:\.\w+)+)", token)
        short = re.fullmatch(r"(\w+)\.(\w+)", token)
        if dotted:
            parts = token.split(".")
            for cut in range(len(parts), 1, -1):  # the longest importable module
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for attr in parts[cut:]:
                    obj = getattr(obj, attr, None)
                if obj is None:
                    missing.append(token)
                break
            else:
                missing.append(token)
        elif short and short[1] in MODULES and short[2] not in FILES and not _field(token):
            module = importlib.import_module(_module(MODULES[short[1]]))
            if not hasattr(module, short[2]):
                missing.append(token)
    # "`sim/model/fields.py` `name`": a name right after a module's path is in that module
    for path, name in re.findall(r"`(sim/[\w/]+\.py)`,? `(\w+)`", text):
        if not hasattr(importlib.import_module(_module(ROOT / path)), name):
            missing.append(f"{path} {name}")
    assert not missing, f"{doc.relative_to(ROOT)} names what does not exist: {missing}"


def _defined() -> set[str]:
    """Every name the package defines (functions, classes, parameters, attributes, fields,
    strings used as keys) and every key of the shipped scenarios."""
    names = {"argmin", "argmax"}  # numpy's, named for their tie rule
    for path in (ROOT / "sim").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"^\s*(?:def|class)\s+(\w+)", text, re.M))
        names |= set(re.findall(r"^\s*(\w+)\s*(?::[^=\n]+)?=", text, re.M))
        names |= set(re.findall(r"^\s*(\w+)\s*:", text, re.M))
        names |= set(re.findall(r"self\.(\w+)\s*=", text))
        names |= set(re.findall(r"[(,]\s*(\w+)\s*(?::[^,)=]+)?(?:=[^,)]+)?(?=[,)])", text))
        names |= set(re.findall(r'"(\w+)"', text))
    for path in (ROOT / "scenarios").rglob("*.yaml"):
        names |= set(re.findall(r"(\w+):", path.read_text()))
    return names


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_code_name_the_doc_names_exists(doc):
    """A bare `name` in backticks (a function, a field, a series) is defined somewhere in the
    package or the shipped scenarios: before, model.md named a batch-engine `resolve` that had
    been gone for a while."""
    defined = _defined()
    names = [t for t in _names(doc.read_text()) if re.fullmatch(r"[a-z_][a-z0-9_]*", t)]
    missing = sorted({t for t in names if t not in defined})
    assert not missing, f"{doc.relative_to(ROOT)} names what does not exist: {missing}"


# ---- docs/scenarios.md: its example is real, and its errors are the ones sim prints ----------

GUIDE = ROOT / "docs" / "scenarios.md"
EXAMPLES = ROOT / "scenarios" / "examples"


def test_every_yaml_block_of_the_guide_is_an_excerpt_of_its_example():
    files = "\n".join(p.read_text() for p in sorted(EXAMPLES.glob("*.yaml")))
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) >= 10
    for block in blocks:
        assert block in files, f"not in scenarios/examples: {block[:80]!r}"


def test_the_guide_example_and_its_study_run(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    for name, extra in (("riverbend.yaml", []), ("riverbend_study.yaml", ["--workers", "1"])):
        args = ["run", str(EXAMPLES / name), "--replicates", "3", "--quiet", "--out", str(tmp_path)]
        result = CliRunner().invoke(main, [*args, *extra])
        assert result.exit_code == 0, result.output
    assert len(list(tmp_path.iterdir())) == 2


def test_the_errors_the_guide_quotes_are_the_ones_sim_prints(monkeypatch):
    import shlex

    from click.testing import CliRunner

    from sim.cli import main

    monkeypatch.chdir(ROOT)
    pairs = re.findall(r"^    \$ (sim .*)\n    (error: .*)$", GUIDE.read_text(), re.M)
    assert len(pairs) >= 8
    for command, message in pairs:
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert result.exit_code == 2, (command, result.output)
        assert result.output.strip() == message, command
