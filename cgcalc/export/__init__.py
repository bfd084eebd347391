"""``cgcalc export``: the derived graph, written by the one code generator (cgcalc/codegen.py)
in the syntax of numpy, torch or jax (backends.py), as a module of your own (module.py)."""
