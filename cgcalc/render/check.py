"""What ``cgcalc check`` shows: per param, the entry where reverse mode, forward mode and
central finite differences disagree most, and whether all are within tolerance."""

from __future__ import annotations

from .common import console, json_num, json_text, titled_table


def check_summary(rows, rel_tol, fd_tol):
    """Per param: the worst disagreements; and whether all are within tolerance."""
    worst = {}
    ok = True
    for p, idx, rev, fwd, num in rows:
        scale = max(1.0, abs(rev))
        e_f = abs(rev - fwd) / scale
        e_n = abs(rev - num) / scale
        ok &= e_f <= rel_tol and e_n <= fd_tol
        w = worst.get(p)
        if w is None or max(e_f, e_n) > max(w[4], w[5]):
            worst[p] = (p, idx, rev, fwd, e_f, e_n, num)
    return list(worst.values()), ok


def check_render(rows, fmt, out, rel_tol, fd_tol):
    worst, ok = check_summary(rows, rel_tol, fd_tol)
    if fmt == "json":
        doc = {"ok": ok, "checked": len(rows),
               "tolerance": {"forward": rel_tol, "finite_differences": fd_tol},
               "worst": [{"param": p, "index": list(i), "reverse": json_num(r),
                          "forward": json_num(f), "numeric": json_num(n),
                          "error_forward": json_num(ef), "error_numeric": json_num(en)}
                         for p, i, r, f, ef, en, n in worst]}
        out.write(json_text(doc) + "\n")
        return ok
    if fmt == "rich":
        t = titled_table(f"gradient check: {len(rows)} entries, reverse mode against forward "
                         "mode and central differences")
        for c in ("param", "worst entry", "reverse", "forward", "numeric", "rel. err fwd",
                  "rel. err num"):
            t.add_column(c, justify="left" if c == "param" else "right")
        for p, i, r, f, ef, en, n in worst:
            t.add_row(p, str(list(i)), f"{r:.10g}", f"{f:.10g}", f"{n:.10g}", f"{ef:.1e}",
                      f"{en:.1e}", style=None if ef <= rel_tol and en <= fd_tol else "red")
        con = console(file=out)
        con.print(t)
        con.print("[bold green]ok[/]" if ok else "[bold red]out of tolerance[/]")
        return ok
    out.write("param\tentry\treverse\tforward\tnumeric\terr_forward\terr_numeric\n")
    for p, i, r, f, ef, en, n in worst:
        out.write(f"{p}\t{list(i)}\t{r!r}\t{f!r}\t{n!r}\t{ef:.3e}\t{en:.3e}\n")
    out.write("ok\n" if ok else "out of tolerance\n")
    return ok
