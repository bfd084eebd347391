"""Runs the LALR(1) tables that lark computes from ``grammar/*.lark``: a lexer and a
shift-reduce loop, so that parsing does not load lark's runtime (see cgcalc/grammars.py).

:func:`build` reads a lark parser's tables into plain lists and dicts (grammars.py caches them
with marshal); :class:`Tables` runs them. A parse does what lark's LALR parser does when given a
``transformer``: the same tokens (lark's basic or contextual lexer, longest-priority order,
keywords split off names the way lark's "unless" callbacks do), the same callbacks called with the
same children: anonymous punctuation filtered out, ``_rule``s spliced into their parent, ``?rule``s
with one child passed through, ``[item]`` placeholders as None. (Not lark's calls of a method named
after a terminal on each token: cgcalc's transformers have none.) Input that it cannot lex or parse
raises :class:`NoParse`, and the caller asks lark itself, whose error names the place.
tests/test_grammars.py checks the two agree, token for token and callback for callback.
"""

from __future__ import annotations

import re

FORMAT = 1  # bump when the layout of the tables changes


class NoParse(Exception):
    """The input is not in the language (lark itself says where)."""


class Token:
    """A terminal as lexed: ``type`` (its name), ``value`` (the text), 1-based ``line``, ``column``
    and the offset ``start_pos``, as on lark's tokens."""

    __slots__ = ("type", "value", "start_pos", "line", "column")

    def __init__(self, type_, value, start_pos, line, column):
        self.type, self.value, self.start_pos, self.line, self.column = (
            type_, value, start_pos, line, column)

    def __repr__(self):
        return f"Token({self.type!r}, {self.value!r})"


# -- building the tables from lark (only when the cache is cold) ----------------------------------

def build(lark_parser, always_accept=()) -> dict:
    """The tables of ``lark_parser`` (a ``lark.Lark`` with ``parser="lalr"``) as builtins.

    ``states[s][symbol]`` is the action in state ``s``: ``n >= 0`` shifts (or, for a rule's name,
    goes) to state ``n``; ``~r`` reduces by ``rules[r]``. ``rules[r]`` is ``(origin, size,
    callback name, children to keep, placeholders to append, pass one child through)``.
    ``lexers[state_lexer[s]]`` is the lexer for state ``s``: one for a basic lexer, one per set of
    acceptable terminals for a contextual one (with ``always_accept`` in every set, as lark does
    for a postlexer's terminals)."""
    from lark.parsers.lalr_analysis import Shift

    conf, options = lark_parser.lexer_conf, lark_parser.options
    if conf.use_bytes or conf.re_module is not re:
        raise ValueError("cgcalc's LALR runner lexes str with the re module")
    table = lark_parser.parser.parser._parse_table  # lark keeps no public handle on it
    rules = list(lark_parser.rules)
    rule_index = {rule: i for i, rule in enumerate(rules)}
    n_states = len(table.states)
    if sorted(table.states) != list(range(n_states)):
        raise ValueError("lark's parse table does not number its states 0..n-1")
    states = [
        {str(sym): (arg if action is Shift else ~rule_index[arg])
         for sym, (action, arg) in row.items()}
        for _, row in sorted(table.states.items())
    ]
    terminals = {str(t.name): t for t in conf.terminals}
    if options.lexer == "contextual":
        extra = {*conf.ignore, *always_accept}
        accept_sets = [frozenset(n for n in (*row, *extra) if n in terminals) for row in states]
    elif options.lexer == "basic":
        accept_sets = [frozenset(terminals)] * n_states
    else:
        raise ValueError(f"cgcalc's LALR runner has no {options.lexer!r} lexer")
    lexers, lexer_of_set = [], {}
    for accepts in accept_sets:
        if accepts not in lexer_of_set:
            lexer_of_set[accepts] = len(lexers)
            lexers.append(_lexer([terminals[n] for n in accepts], conf.g_regex_flags))
    (start,) = options.start  # the grammar's one start rule
    return {
        "format": FORMAT,
        "start": table.start_states[start],
        "end": table.end_states[start],
        "states": states,
        "rules": [_rule(rule, options.maybe_placeholders) for rule in rules],
        "lexers": lexers,
        "state_lexer": [lexer_of_set[a] for a in accept_sets],
        "ignore": sorted(map(str, conf.ignore)),
        "flags": conf.g_regex_flags,
    }


def _lexer(terminals, flags):
    """One alternation of the terminals in lark's order (priority, longest possible match, longest
    pattern, name), and the keywords that lark splits off a regexp terminal's matches."""
    terminals = sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                  -len(t.pattern.value), t.name))
    unless, embedded = {}, set()
    for rt in terminals:
        if rt.pattern.type != "re":
            continue
        for st in terminals:
            word = st.pattern.value
            if st.pattern.type != "str" or st.priority != rt.priority:
                continue
            m = re.match(rt.pattern.to_regexp(), word, flags)
            if m and m.group(0) == word:
                if st.pattern.flags:
                    raise ValueError(f"keyword {st.name} with flags: not supported")
                unless.setdefault(str(rt.name), {})[str(word)] = str(st.name)
                embedded.add(st.name)
    pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                       for t in terminals if t.name not in embedded)
    return pattern, unless


def _rule(rule, maybe_placeholders):
    """A rule as its reduction needs it (lark's parse_tree_builder, for an LALR parser)."""
    expansion, options = rule.expansion, rule.options
    marks = options.empty_indices if maybe_placeholders else ()
    if marks:  # how many None placeholders go before each child, and after the last
        empty = [len(ones) for ones in "".join(str(int(b)) for b in marks).split("0")]
    else:
        empty = [0] * (len(expansion) + 1)
    keep, nones = [], 0
    for i, sym in enumerate(expansion):
        nones += empty[i]
        if options.keep_all_tokens or not (sym.is_term and sym.filter_out):
            keep.append((i, not sym.is_term and sym.name.startswith("_"), nones))
            nones = 0
    nones += empty[len(expansion)]
    plain = (len(keep) == len(expansion) and not nones
             and not any(splice or before for _, splice, before in keep))
    name = rule.alias or options.template_source or rule.origin.name
    # (lark's names may be str subclasses, which marshal does not write)
    return (str(rule.origin.name), len(expansion), str(name), None if plain else tuple(keep), nones,
            bool(options.expand1 and not rule.alias))


def valid_tables(t) -> bool:
    """True when ``t`` has the shape :func:`build` gives (read back from a cache file, it is
    untrusted): every field of the right type, every state, rule and lexer number in range."""
    try:
        n_states, n_rules, n_lexers = len(t["states"]), len(t["rules"]), len(t["lexers"])
        ok = (t.get("format") == FORMAT and isinstance(t["flags"], int)
              and all(isinstance(x, int) and 0 <= x < n_states for x in (t["start"], t["end"]))
              and len(t["state_lexer"]) == n_states
              and all(isinstance(k, int) and 0 <= k < n_lexers for k in t["state_lexer"])
              and all(isinstance(x, str) for x in t["ignore"]))
        for row in t["states"]:
            ok = ok and isinstance(row, dict) and all(
                isinstance(k, str) and isinstance(v, int) and -n_rules <= v < n_states
                for k, v in row.items())
        for rule in t["rules"]:
            origin, size, name, keep, append, pass_one = rule
            ok = ok and isinstance(origin, str) and isinstance(size, int) and size >= 0 \
                and isinstance(name, str) and isinstance(append, int) \
                and isinstance(pass_one, bool) and (keep is None or all(
                    0 <= i < size and isinstance(nones, int) for i, _, nones in keep))
        for lexer in t["lexers"]:
            pattern, unless = lexer
            ok = ok and isinstance(pattern, str) and isinstance(unless, dict)
        return bool(ok)
    except (KeyError, TypeError, ValueError):
        return False


# -- running them ---------------------------------------------------------------------------------

def _splice(children):
    return children  # a _rule's children, spliced into the rule that uses it


def _missing(transformer, name):
    def call(children):  # (lark would build a Tree, which no cgcalc callback expects)
        raise TypeError(f"{type(transformer).__name__} has no callback {name!r}")
    return call


def _pass_one(f):
    return lambda children: children[0] if len(children) == 1 else f(children)


def _filtered(f, keep, append):
    def call(children):
        out = []
        for i, splice, nones in keep:
            if nones:
                out += [None] * nones
            if not splice:
                out.append(children[i])
            elif out:
                out += children[i]
            else:  # left recursion (a list of statements): extend the child's list in place
                out = children[i]
        if append:
            out += [None] * append
        return f(out)
    return call


class Tables:
    """The tables of one grammar (from :func:`build`), ready to parse with."""

    def __init__(self, tables: dict, postlex=None):
        self.start, self.end = tables["start"], tables["end"]
        self.states = tables["states"]
        self.rules = tables["rules"]
        self.state_lexer = tables["state_lexer"]
        self.ignore = frozenset(tables["ignore"])
        self._sources, self._flags = tables["lexers"], tables["flags"]
        self._lexers = [None] * len(self._sources)  # compiled on first use
        self.postlex = postlex

    def _lexer(self, i):
        pattern, unless = self._sources[i]
        lexer = self._lexers[i] = (re.compile(pattern, self._flags).match, unless)
        return lexer

    def _tokens(self, text, state_stack):
        """lark's lexer; a contextual one reads the parser's state as each token is asked for.
        A postlexer that only drops a token type inside brackets (``depths``: type -> +1/-1,
        ``dropped``) is done here, in the same loop."""
        ignore, state_lexer, lexers = self.ignore, self.state_lexer, self._lexers
        post = self.postlex
        depths = getattr(post, "depths", None)
        dropped = getattr(post, "dropped", None)
        depth = 0
        pos, line, line_start, n = 0, 1, 0, len(text)
        while pos < n:
            i = state_lexer[state_stack[-1]]
            match, unless = lexers[i] or self._lexer(i)
            m = match(text, pos)
            if m is None:
                raise NoParse
            value, type_ = m.group(), m.lastgroup
            keep = type_ not in ignore
            if keep:
                if type_ in unless:
                    type_ = unless[type_].get(value, type_)
                if depths is not None:
                    d = depths.get(type_)
                    if d is not None:
                        depth = depth + d if depth + d > 0 else 0
                    elif depth and type_ == dropped:
                        keep = False
                if keep:
                    tok = Token(type_, value, pos, line, pos - line_start + 1)
            if "\n" in value:
                line += value.count("\n")
                line_start = pos + value.rindex("\n") + 1
            pos += len(value)
            if keep:
                yield tok
        yield Token("$END", "", n, line, n - line_start + 1)

    def parse(self, text: str, transformer):
        """What ``transformer``'s callback for the start rule returns; NoParse if ``text`` is not
        in the language."""
        rules = []
        for origin, size, name, keep, append, pass_one in self.rules:
            if pass_one and size == 1 and keep is None:
                rules.append((origin, size, None))  # the child itself, in the goto state
                continue
            f = getattr(transformer, name, None)
            if f is None:
                f = _splice if origin.startswith("_") else _missing(transformer, name)
            if pass_one:
                f = _pass_one(f)
            if keep is not None:
                f = _filtered(f, keep, append)
            rules.append((origin, size, f))
        states = self.states
        state_stack, value_stack = [self.start], []
        tokens = self._tokens(text, state_stack)
        if self.postlex is not None and getattr(self.postlex, "depths", None) is None:
            tokens = self.postlex.process(tokens)
        end_state = self.end
        for tok in tokens:  # the last is $END
            type_ = tok.type
            while True:
                action = states[state_stack[-1]].get(type_)
                if action is None:
                    raise NoParse
                if action >= 0:
                    state_stack.append(action)
                    value_stack.append(tok)
                    break
                origin, size, f = rules[~action]
                if f is None:
                    state_stack[-1] = states[state_stack[-2]][origin]
                    continue
                if size:
                    value = f(value_stack[-size:])
                    del state_stack[-size:], value_stack[-size:]
                else:
                    value = f([])
                state_stack.append(states[state_stack[-1]][origin])
                value_stack.append(value)
                if state_stack[-1] == end_state and type_ == "$END":
                    return value
        raise NoParse  # pragma: no cover - $END reduces to the end state or fails above
