"""Detector SQL (DuckDB dialect, portable subset) translated to Spark SQL with SQLGlot.

SQLGlot does the grammar; the rules here fix what it translates to something valid but not
equal in meaning, so both engines give the same numbers:
- `epoch(ts)` is fractional seconds in DuckDB; SQLGlot's UNIX_TIMESTAMP truncates to whole
  seconds. Both `epoch` and `epoch_us` go through `unix_micros` (exact).
- A literal such as `0.5` is DECIMAL in Spark, so arithmetic on it would be decimal
  arithmetic (and overflow to NULL); as DOUBLE it computes as DuckDB's floats do.
- `round(x, d)` on a DOUBLE: DuckDB computes round(x * 10^d) / 10^d in binary floating point,
  Spark rounds the shortest decimal text of x (1.005 -> 1.01 in Spark, 1.0 in DuckDB). The
  rewrite makes Spark do DuckDB's arithmetic.
- `to_json` drops NULL fields in Spark unless told not to; the event contract keeps them.
  `CAST(... AS JSON)` is a no-op (Spark has no JSON type: details stay a string).
- `list(x ORDER BY x)` loses its ORDER BY in SQLGlot; it becomes array_sort(collect_list(x))
  (collect_set with DISTINCT). Ordering a list by anything but its values raises.
- `arg_min(x, key)` skips rows where x is NULL in DuckDB; Spark's min_by does not, so it
  gets `FILTER (WHERE x IS NOT NULL)` (joined to a FILTER it already has).
- Named windows are inlined: Spark cannot refine one (`OVER (w ROWS BETWEEN ...)`).
Constructs SQLGlot knows Spark lacks raise `TranspileError` instead of producing wrong SQL.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from shadowtrace.errors import ShadowtraceError


class TranspileError(ShadowtraceError):
    """Detector SQL uses a construct the Spark translation does not support."""


def _double(node: exp.Expression) -> exp.Expression:
    return exp.cast(node, exp.DataType.build("DOUBLE"))


def _unix_micros(node: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="unix_micros", expressions=[node])


def _inline_windows(select: exp.Select) -> None:
    """Replace `OVER w` / `OVER (w ...)` with the definition of w from the WINDOW clause."""
    defs = {w.this.name: w for w in select.args.get("windows") or []}
    if not defs:
        return
    for window in list(select.find_all(exp.Window)):
        alias = window.args.get("alias")
        if alias is None or alias.name not in defs or window.parent_select is not select:
            continue
        base = defs[alias.name]
        if window.args.get("partition_by") or window.args.get("order"):
            raise TranspileError(f"window {alias.name!r} refined with PARTITION BY / ORDER BY")
        for key in ("partition_by", "order"):
            if base.args.get(key) is not None:
                value = base.args[key]
                window.set(key, [v.copy() for v in value] if isinstance(value, list) else value.copy())
        if window.args.get("spec") is None and base.args.get("spec") is not None:
            window.set("spec", base.args["spec"].copy())
        window.set("alias", None)
    select.set("windows", None)


def _ordered_list(node: exp.ArrayAgg) -> exp.Expression:
    """list(x ORDER BY x) / list(DISTINCT x ORDER BY x) -> array_sort(collect_*(x)), NULL
    when no row is collected (as DuckDB's list; Spark's collect gives an empty array)."""
    order = node.this
    if not isinstance(order, exp.Order):
        raise TranspileError("list() needs ORDER BY (its own values) to give one order on every "
                             f"engine: {node.sql('duckdb')}")
    value = order.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        value = value.expressions[0]
    keys = order.expressions
    if len(keys) != 1 or keys[0].this != value or keys[0].args.get("desc"):
        raise TranspileError(f"list(... ORDER BY ...) only by its own values, ascending: {node.sql('duckdb')}")
    func = "collect_set" if distinct else "collect_list"

    def collected() -> exp.Expression:
        return exp.Anonymous(this="array_sort", expressions=[
            exp.Anonymous(this=func, expressions=[value.copy()]),
        ])

    size = exp.Anonymous(this="size", expressions=[collected()])
    case = exp.Case(ifs=[exp.If(this=exp.GT(this=size, expression=exp.Literal.number("0")), true=collected())])
    case.meta["list_aggregate"] = True
    return case


def _filter_list(node: exp.Filter) -> exp.Expression:
    """The FILTER of a list aggregate belongs on each collect_* inside its rewrite."""
    case = node.this
    for collect in list(case.find_all(exp.Anonymous)):
        if collect.name in ("collect_list", "collect_set"):
            collect.replace(exp.Filter(this=collect.copy(), expression=node.expression.copy()))
    return case


def _round_like_duckdb(value: exp.Expression, digits: int) -> exp.Expression:
    """round(x, d) of a DOUBLE as DuckDB does it: the exact binary value of x * 10^d rounded
    half away from zero, then divided by 10^d. In floating point x * 10^d can land exactly on
    a half (9.975 * 100 = 997.5) while the exact product lies below it (997.4999...); the
    product's rounding error, found exactly by Dekker's split, tells which way to go.
    x is bound once, as a lambda variable: transform(array(x), v -> ...)[0]."""
    var = "_round_x"

    def x() -> exp.Expression:
        return exp.column(var)

    scale = exp.Literal.number(f"1e{digits}")

    def p() -> exp.Expression:
        return exp.paren(exp.Mul(this=x(), expression=scale.copy()))

    def split() -> exp.Expression:  # 2^27 + 1: Veltkamp split into 26-bit halves
        return exp.paren(exp.Mul(this=exp.Literal.number("134217729e0"), expression=x()))

    high = exp.paren(exp.Sub(this=split(), expression=exp.paren(exp.Sub(this=split(), expression=x()))))
    low = exp.paren(exp.Sub(this=x(), expression=high.copy()))
    # x * 10^d - p, exactly (10^d has few bits, so high * 10^d and low * 10^d are exact).
    error = exp.paren(exp.Add(
        this=exp.paren(exp.Sub(this=exp.Mul(this=high, expression=scale.copy()), expression=p())),
        expression=exp.Mul(this=low, expression=scale.copy()),
    ))
    on_half = exp.EQ(this=exp.Sub(this=p(), expression=exp.Floor(this=p())),
                     expression=exp.Literal.number("0.5e0"))
    up = exp.or_(exp.GT(this=error.copy(), expression=exp.Literal.number("0")),
                 exp.and_(exp.EQ(this=error.copy(), expression=exp.Literal.number("0")),
                          exp.GT(this=x(), expression=exp.Literal.number("0"))))
    tie = exp.Case(ifs=[exp.If(this=up, true=exp.Ceil(this=p()))], default=exp.Floor(this=p()))
    rounded = exp.Case(ifs=[exp.If(this=on_half, true=tie)], default=exp.Round(this=p()))
    body = exp.Div(this=exp.cast(exp.paren(rounded), exp.DataType.build("DOUBLE")), expression=scale.copy())
    bound = exp.Anonymous(this="transform", expressions=[
        exp.Anonymous(this="array", expressions=[_double(value)]),
        exp.Lambda(this=body, expressions=[exp.to_identifier(var)]),
    ])
    return exp.Bracket(this=bound, expressions=[exp.Literal.number(0)], offset=0, safe=False)


def _skip_null_args(node: exp.ArgMin | exp.ArgMax) -> exp.Expression:
    """DuckDB's arg_min / arg_max ignore rows whose value is NULL: say so for min_by / max_by."""
    present = exp.not_(exp.Is(this=node.this.copy(), expression=exp.Null()))
    parent = node.parent
    if isinstance(parent, exp.Filter) and parent.this is node:
        where = parent.expression
        where.set("this", exp.and_(exp.paren(where.this.copy()), present))
        return node
    return exp.Filter(this=node.copy(), expression=exp.Where(this=present))


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Select):
        _inline_windows(node)
        return node
    if isinstance(node, exp.TimeToUnix):  # epoch(ts): seconds with the fraction
        return exp.Div(this=_double(_unix_micros(node.this)), expression=exp.Literal.number("1e6"))
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "epoch_us":
            return _unix_micros(node.expressions[0])
        if name == "to_json" and len(node.expressions) == 1:
            options = exp.Anonymous(this="map", expressions=[
                exp.Literal.string("ignoreNullFields"), exp.Literal.string("false"),
            ])
            return exp.Anonymous(this="to_json", expressions=[node.expressions[0], options])
        return node
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        return node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this.lower()
        if "." in text or "e" in text:
            return _double(node.copy())
        return node
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        digits = node.args["decimals"]
        if not (isinstance(digits, exp.Literal) and digits.is_int):
            raise TranspileError(f"round() with non-literal digits: {node.sql('duckdb')}")
        if int(digits.this) <= 0:
            return node
        return _round_like_duckdb(node.this, int(digits.this))
    if isinstance(node, (exp.ArgMin, exp.ArgMax)):
        return _skip_null_args(node)
    if isinstance(node, exp.ArrayAgg):
        return _ordered_list(node)
    if isinstance(node, exp.Filter) and node.this.meta.get("list_aggregate"):
        return _filter_list(node)
    return node


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """`sql` (DuckDB dialect) as Spark SQL; raises TranspileError on what cannot be carried."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        # Children before parents (post-order), each node once: a rule sees its arguments
        # already rewritten, and what it adds (DOUBLE literals) is not rewritten again.
        for node in reversed(list(tree.dfs())):
            new = _rewrite(node)
            if new is not node:
                if node is tree:
                    tree = new
                else:
                    node.replace(new)
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise TranspileError(f"detector SQL does not translate to Spark: {exc}") from exc
