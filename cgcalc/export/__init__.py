"""Code generation: the derived graph as straight-line Python (code.py) in the syntax of numpy,
torch or jax (backends.py), written as a module of your own (module.py): ``cgcalc export``."""
