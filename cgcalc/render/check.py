"""What ``cgcalc check`` shows: per param, the entry where reverse mode, forward mode and
central finite differences disagree most, and whether all are within tolerance."""

from __future__ import annotations

from .common import console, json_num, json_text, titled_table


def check_summary(rows, rel_tol, fd_tol):
    """Per param: the worst disagreements; and whether all are within tolerance. An entry no
    difference can check (numeric None) is held to forward mode alone."""
    worst = {}
    ok = True
    for p, idx, rev, fwd, num in rows:
        scale = max(1.0, abs(rev))
        e_f = abs(rev - fwd) / scale
        e_n = abs(rev - num) / scale if num is not None else None
        ok &= e_f <= rel_tol and (e_n is None or e_n <= fd_tol)
        w = worst.get(p)
        if w is None or max(e_f, e_n or 0.0) > max(w[4], w[5] or 0.0):
            worst[p] = (p, idx, rev, fwd, e_f, e_n, num)
    return list(worst.values()), ok


_LISTED = 20  # entries not checked by differences listed by name at most


def check_render(rows, fmt, out, rel_tol, fd_tol, unchecked=None):
    """The worst entry of each param, entries not checked by differences ({(param, index):
    why}), and the verdict."""
    worst, ok = check_summary(rows, rel_tol, fd_tol)
    unchecked = unchecked or {}
    compared = sum(num is not None for *_, num in rows)  # entries finite differences checked
    verdict = "out of tolerance" if not ok else "ok" if compared or not rows else \
        "ok by forward mode alone: no entry could be checked by finite differences"
    if fmt == "json":
        doc = {"ok": ok, "checked": len(rows), "by_differences": compared,
               "tolerance": {"forward": rel_tol, "finite_differences": fd_tol},
               "worst": [{"param": p, "index": list(i), "reverse": json_num(r),
                          "forward": json_num(f), "numeric": json_num(n),
                          "error_forward": json_num(ef), "error_numeric": json_num(en)}
                         for p, i, r, f, ef, en, n in worst]}
        if unchecked:
            doc["not_by_differences"] = {
                "count": len(unchecked),
                "first": [{"param": p, "index": list(i), "why": why}
                          for (p, i), why in list(unchecked.items())[:_LISTED]]}
        out.write(json_text(doc) + "\n")
        return ok
    if fmt == "rich":
        t = titled_table(f"gradient check: {len(rows)} entries, reverse mode against forward "
                         "mode and central differences")
        for c in ("param", "worst entry", "reverse", "forward", "numeric", "rel. err fwd",
                  "rel. err num"):
            t.add_column(c, justify="left" if c == "param" else "right")
        for p, i, r, f, ef, en, n in worst:
            t.add_row(p, str(list(i)), f"{r:.10g}", f"{f:.10g}",
                      "-" if n is None else f"{n:.10g}", f"{ef:.1e}",
                      "-" if en is None else f"{en:.1e}",
                      style=None if ef <= rel_tol and (en is None or en <= fd_tol) else "red")
        con = console(file=out)
        con.print(t)
        if unchecked:
            con.print(_unchecked_text(unchecked), markup=False, highlight=False)
        con.print(f"[bold {'green' if ok else 'red'}]{verdict}[/]")
        return ok
    out.write("param\tentry\treverse\tforward\tnumeric\terr_forward\terr_numeric\n")
    for p, i, r, f, ef, en, n in worst:
        out.write(f"{p}\t{list(i)}\t{r!r}\t{f!r}\t{'-' if n is None else repr(n)}\t{ef:.3e}\t"
                  f"{'-' if en is None else format(en, '.3e')}\n")
    if unchecked:
        out.write(_unchecked_text(unchecked) + "\n")
    out.write(verdict + "\n")
    return ok


def _unchecked_text(unchecked):
    """What could not be checked by differences: how many entries, the first few, and why the
    first could not."""
    (p, i), why = next(iter(unchecked.items()))
    named = ", ".join(f"{p}{list(i)}" for p, i in list(unchecked)[:_LISTED])
    more = f", and {len(unchecked) - _LISTED} more" if len(unchecked) > _LISTED else ""
    n = len(unchecked)
    return (f"not checked by finite differences ({n} entr{'y' if n == 1 else 'ies'}, held to "
            f"forward mode alone): {named}{more}; {p}{list(i)}: {why}")
