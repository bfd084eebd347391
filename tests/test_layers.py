"""The house's shape: each module imports only the layers below it (lazy imports inside
functions included), so the pipeline reads from the file names up. Read from the source with
ast, nothing imported."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cgcalc"

# bottom to top; a module may import from an earlier layer, or within its own package
# from an earlier step of that package (the lists inside a package are its steps, in order)
LAYERS = [
    ["errors", "arraymath", "syntax"],
    ["limits", "scalar", "lalr", "walk", "ops", "precedence", "parallel"],
    ["grammars", "files", "rows", "codegen", "rowblocks"],
    ["parse"],
    ["graph"],
    ["simplify", "evaluate"],
    ["derive"],
    ["printer"],
    ["inputs"],
    ["api"],
    ["net"],
    ["render", "export"],
    ["commands"],
    ["cli"],
    ["__main__", ""],  # "" is cgcalc/__init__.py
]
STEPS = {
    "net": ["spec", "options", "unroll", "model", "targets", "data", "params", "backprop",
            "scalar_step", "train", "check", "through_time", "derivation", ""],
    "rows": ["lines", "formats", ""],
    "export": ["backends", "module", ""],
    "printer": ["styles", "expression", "program", ""],
    "simplify": ["fold", "canonical", "sums", "products", "powers", "scalar", "arrays", ""],
    "render": ["common", "rows", "picture", "check", "training", "plain", "csv_out",
               "json_out", "latex", "dot", "rich_net", "rich", ""],
}
LEVEL = {name: k for k, layer in enumerate(LAYERS) for name in layer}


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, parts


def imports(path, parts):
    """The cgcalc modules ``path`` imports, as tuples of name parts below cgcalc."""
    package = parts if path.name == "__init__.py" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            if node.module:
                yield (*base, *node.module.split("."))
            else:
                for alias in node.names:
                    yield (*base, alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cgcalc"):
            yield tuple(node.module.split(".")[1:])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cgcalc."):
                    yield tuple(alias.name.split(".")[1:])


def top(parts):
    return parts[0] if parts else ""


def test_every_module_has_a_layer():
    for _, parts in modules():
        assert top(parts) in LEVEL, f"{'/'.join(parts)} has no layer in tests/test_layers.py"
        if len(parts) > 1:
            assert parts[1] in STEPS[parts[0]], f"{'/'.join(parts)} has no step"


@pytest.mark.parametrize("path, parts", list(modules()), ids=lambda x: str(x))
def test_imports_only_run_downward(path, parts):
    for target in imports(path, parts):
        if target[:1] == ("__version__",):
            continue  # a name of cgcalc/__init__.py, which imports nothing back
        mine, theirs = top(parts), top(target)
        if mine == theirs and mine in STEPS:
            steps = STEPS[mine]
            me = steps.index(parts[1] if len(parts) > 1 else "")
            them = steps.index(target[1] if len(target) > 1 else "")
            assert them < me, f"{'/'.join(parts)} imports {'/'.join(target)}: a later step"
        else:
            assert LEVEL[theirs] < LEVEL[mine], \
                f"{'/'.join(parts) or 'cgcalc'} imports {'/'.join(target)}: not a lower layer"
