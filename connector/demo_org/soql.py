"""The SOQL subset the demo org executes: a tokenizer, a recursive-descent parser and a compiler to
parameterised SQLite SQL.

Anything outside the subset raises :class:`SoqlError` with Salesforce's error code and message shape
(``MALFORMED_QUERY`` with a caret under the offending token, ``INVALID_FIELD`` for unknown or
unusable fields), so that the server answers like Salesforce instead of returning a wrong result.
Values are never interpolated into SQL: every literal becomes a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .schema import Field, SObject, sobject
from .ids import to18

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
            "FIRST", "LAST", "LIMIT", "COUNT", "TRUE", "FALSE", "NULL"}
# Clauses Salesforce has but this emulator does not run: named in the error instead of being ignored.
UNSUPPORTED = {"GROUP", "HAVING", "OFFSET", "TYPEOF", "WITH", "FOR", "USING", "INCLUDES", "EXCLUDES", "ROLLUP",
               "CUBE", "FORMAT", "UPDATE", "VIEW", "REFERENCE", "TRACKING", "VIEWSTAT"}


class SoqlError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # ident keyword string number date datetime op lparen rparen comma eof
    text: str
    pos: int
    value: object = None
    like: str | None = None  # for strings: the SQL LIKE pattern (ESCAPE '\')


_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2}))?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _malformed(query: str, pos: int, detail: str) -> SoqlError:
    line_start = query.rfind("\n", 0, pos) + 1
    row = query.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    line_end = query.find("\n", pos)
    line = query[line_start: line_end if line_end >= 0 else len(query)]
    return SoqlError("MALFORMED_QUERY", f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{detail}")


def _invalid_field(query: str, pos: int, detail: str) -> SoqlError:
    err = _malformed(query, pos, detail)
    return SoqlError("INVALID_FIELD", err.message)


def parse_datetime_literal(m: re.Match) -> tuple[str, object]:
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        if hh is None:
            return "date", dt.date(int(y), int(mo), int(d))
        off = dt.timezone.utc
        if tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            off = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((frac or "0").ljust(6, "0")[:6])
        value = dt.datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), micro, tzinfo=off)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return "datetime", value


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "'":
            j, plain, like = i + 1, [], []
            while True:
                if j >= n:
                    raise _malformed(query, i, "line 1:%d mismatched character '<EOF>' expecting '''" % i)
                ch = query[j]
                if ch == "\\":
                    if j + 1 >= n:
                        raise _malformed(query, j, "Invalid string literal: unterminated escape")
                    esc = query[j + 1]
                    if esc in _ESCAPES:
                        plain.append(_ESCAPES[esc])
                        like.append("\\\\" if esc == "\\" else _ESCAPES[esc])
                    elif esc in "%_":
                        plain.append(esc)
                        like.append("\\" + esc)
                    else:
                        raise _malformed(query, j, f"Invalid string literal '{query[i:j + 2]}'. Illegal character "
                                                   f"sequence '\\{esc}' in string literal.")
                    j += 2
                    continue
                if ch == "'":
                    break
                plain.append(ch)
                like.append(ch)
                j += 1
            tokens.append(Token("string", query[i:j + 1], i, "".join(plain), "".join(like)))
            i = j + 1
            continue
        if c in "(),":
            tokens.append(Token({"(": "lparen", ")": "rparen", ",": "comma"}[c], c, i))
            i += 1
            continue
        if c in "=<>!":
            for op in ("<=", ">=", "!=", "<>", "=", "<", ">"):
                if query.startswith(op, i):
                    break
            else:
                raise _malformed(query, i, f"unexpected token: '{c}'")
            if op == "<>":
                raise _malformed(query, i, "unexpected token: '<>'")
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        if c.isdigit() or (c in "+-." and i + 1 < n and (query[i + 1].isdigit() or query[i + 1] == ".")):
            m = _DATETIME.match(query, i)
            if m and (m.end() == n or not (query[m.end()].isalnum() or query[m.end()] in ".:")):
                try:
                    kind, value = parse_datetime_literal(m)
                except ValueError:
                    raise _malformed(query, i, f"line 1:{i} no viable alternative at character '{m.group(0)}'") from None
                tokens.append(Token(kind, m.group(0), i, value))
                i = m.end()
                continue
            m = _NUMBER.match(query, i)
            if m and (m.end() == n or not (query[m.end()].isalnum() or query[m.end()] in "_:-")):
                text = m.group(0)
                value = float(text) if ("." in text) else int(text)
                tokens.append(Token("number", text, i, value))
                i = m.end()
                continue
            raise _malformed(query, i, f"unexpected token: '{query[i:i + 10].split()[0]}'")
        m = _IDENT.match(query, i)
        if m:
            text = m.group(0)
            end = m.end()
            if end < n and query[end] == ":":
                raise _malformed(query, i, f"unexpected token: '{text}:'")
            upper = text.upper()
            tokens.append(Token("keyword" if upper in KEYWORDS else "ident", text, i, upper))
            i = end
            continue
        raise _malformed(query, i, f"line 1:{i} no viable alternative at character '{c}'")
    tokens.append(Token("eof", "<EOF>", n))
    return tokens


# ------------------------------------------------------------------------------------------------ AST
@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string number boolean null date datetime
    value: object
    text: str
    pos: int
    like: str | None = None


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND OR
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class Query:
    sobject: str
    sobject_pos: int
    fields: list[Path] = field(default_factory=list)
    count: bool = False
    where: object = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None


class Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, tok: Token | None = None, detail: str | None = None) -> SoqlError:
        tok = tok or self.tok
        if tok.kind == "ident" and tok.value in UNSUPPORTED:
            detail = detail or f"unexpected token: '{tok.text}' (not supported by the Retour demo org)"
        return _malformed(self.query, tok.pos, detail or f"unexpected token: '{tok.text}'")

    def accept(self, *keywords: str) -> Token | None:
        if self.tok.kind == "keyword" and self.tok.value in keywords:
            t = self.tok
            self.i += 1
            return t
        return None

    def expect(self, keyword: str) -> Token:
        t = self.accept(keyword)
        if t is None:
            raise self.error()
        return t

    def kind(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.error()
        t = self.tok
        self.i += 1
        return t

    def parse(self) -> Query:
        self.expect("SELECT")
        fields: list[Path] = []
        count = False
        if self.tok.kind == "keyword" and self.tok.value == "COUNT":
            self.i += 1
            self.kind("lparen")
            self.kind("rparen")
            count = True
        else:
            fields.append(self.path())
            while self.tok.kind == "comma":
                self.i += 1
                fields.append(self.path())
        self.expect("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "ident" or "." in obj_tok.text:
            raise self.error()
        self.i += 1
        q = Query(sobject=obj_tok.text, sobject_pos=obj_tok.pos, fields=fields, count=count)
        if self.accept("WHERE"):
            q.where = self.disjunction()
        if self.accept("ORDER"):
            self.expect("BY")
            q.order.append(self.order_item())
            while self.tok.kind == "comma":
                self.i += 1
                q.order.append(self.order_item())
        if self.accept("LIMIT"):
            t = self.kind("number")
            if not isinstance(t.value, int) or t.value < 0:
                raise self.error(t)
            q.limit = t.value
        if self.tok.kind != "eof":
            raise self.error()
        return q

    def path(self) -> Path:
        t = self.tok
        if t.kind != "ident":
            raise self.error()
        self.i += 1
        parts = tuple(t.text.split("."))
        if len(parts) > 2:
            raise _malformed(self.query, t.pos, f"unexpected token: '{t.text}' (only one-level relationships are "
                                                "supported by the Retour demo org)")
        return Path(parts, t.pos)

    def order_item(self) -> OrderItem:
        p = self.path()
        desc = False
        if self.accept("DESC"):
            desc = True
        else:
            self.accept("ASC")
        nulls_last = None
        if self.accept("NULLS"):
            if self.accept("FIRST"):
                nulls_last = False
            else:
                self.expect("LAST")
                nulls_last = True
        return OrderItem(p, desc, nulls_last)

    def disjunction(self):
        items = [self.conjunction()]
        while self.accept("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def conjunction(self):
        items = [self.unary()]
        while self.accept("AND"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def unary(self):
        if self.accept("NOT"):
            return Not(self.unary())
        if self.tok.kind == "lparen":
            self.i += 1
            inner = self.disjunction()
            self.kind("rparen")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        p = self.path()
        if self.tok.kind == "op":
            op = self.tok.text
            self.i += 1
            return Compare(p, op, self.literal())
        if self.accept("LIKE"):
            lit = self.literal()
            if lit.kind != "string":
                raise self.error(self.tokens[self.i - 1])
            return Compare(p, "LIKE", lit)
        negated = self.accept("NOT") is not None
        if not self.accept("IN"):
            raise self.error()
        self.kind("lparen")
        values = [self.literal()]
        while self.tok.kind == "comma":
            self.i += 1
            values.append(self.literal())
        self.kind("rparen")
        return Compare(p, "NOT IN" if negated else "IN", tuple(values))

    def literal(self) -> Literal:
        t = self.tok
        self.i += 1
        if t.kind == "string":
            return Literal("string", t.value, t.text, t.pos, t.like)
        if t.kind in ("number", "date", "datetime"):
            return Literal(t.kind, t.value, t.text, t.pos)
        if t.kind == "keyword" and t.value in ("TRUE", "FALSE"):
            return Literal("boolean", t.value == "TRUE", t.text, t.pos)
        if t.kind == "keyword" and t.value == "NULL":
            return Literal("null", None, t.text, t.pos)
        raise self.error(t)


def parse(query: str) -> Query:
    return Parser(query).parse()


# ------------------------------------------------------------------------------------------ compile
STRINGY = {"id", "reference", "string", "picklist", "textarea", "email", "url", "phone"}
NUMERIC = {"currency", "double", "int", "percent"}


def epoch_ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000) if value.microsecond == 0 else int(round(value.timestamp() * 1000))


@dataclass
class Column:
    """One selected column: where it comes from and where its value goes in the record."""
    sql: str
    field: Field
    relationship: str | None  # None for the base object, else e.g. "Account"
    rel_object: SObject | None


@dataclass
class Compiled:
    obj: SObject
    count: bool
    columns: list[Column]
    from_sql: str
    where_sql: str
    params: list
    order_sql: str
    limit: int | None
    long_text_fields: int
    ast: Query | None = None

    def ids_sql(self) -> str:
        sql = f"SELECT t0.rowid FROM {self.from_sql} WHERE {self.where_sql}"
        if self.order_sql:
            sql += f" ORDER BY {self.order_sql}"
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        return sql

    def rows_sql(self, n: int) -> str:
        cols = ", ".join(["t0.rowid"] + [c.sql for c in self.columns])
        return f"SELECT {cols} FROM {self.from_sql} WHERE t0.rowid IN ({','.join('?' * n)})"


class Compiler:
    def __init__(self, query_text: str, q: Query, include_deleted: bool):
        self.text = query_text
        self.q = q
        self.include_deleted = include_deleted
        obj = sobject(q.sobject)
        if obj is None:
            raise SoqlError("INVALID_TYPE", _malformed(query_text, q.sobject_pos, f"sObject type '{q.sobject}' is not "
                            "supported. If you are attempting to use a custom object, be sure to append the '__c' "
                            "after the entity name. Please reference your WSDL or the describe call for the "
                            "appropriate names.").message)
        self.obj = obj
        self.joins: dict[str, tuple[str, SObject]] = {}  # relationship lower -> (alias, object)
        self.params: list = []

    def resolve(self, p: Path) -> tuple[str, Field, str | None, SObject | None]:
        if len(p.parts) == 1:
            f = self.obj.get(p.parts[0])
            if f is None:
                raise _invalid_field(self.text, p.pos, f"No such column '{p.parts[0]}' on entity '{self.obj.name}'. "
                                     "If you are attempting to use a custom field, be sure to append the '__c' after "
                                     "the custom field name. Please reference your WSDL or the describe call for the "
                                     "appropriate names.")
            return f't0."{f.name}"', f, None, None
        rel, name = p.parts
        if rel.lower() == self.obj.name.lower():  # SELECT Opportunity.Name FROM Opportunity
            return self.resolve(Path((name,), p.pos))
        ref = next((f for f in self.obj.fields if f.relationship_name and f.relationship_name.lower() == rel.lower()
                    and len(f.reference_to) == 1), None)
        if ref is None:
            raise _invalid_field(self.text, p.pos, f"Didn't understand relationship '{rel}' in field path. If you are "
                                 "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                                 "relationship name. Please reference your WSDL or the describe call for the "
                                 "appropriate names.")
        target = sobject(ref.reference_to[0])
        assert target is not None
        key = ref.relationship_name.lower()
        if key not in self.joins:
            self.joins[key] = (f"t{len(self.joins) + 1}", target, ref)
        alias = self.joins[key][0]
        f = target.get(name)
        if f is None:
            raise _invalid_field(self.text, p.pos, f"No such column '{name}' on entity '{target.name}'. If you are "
                                 "attempting to use a custom field, be sure to append the '__c' after the custom field "
                                 "name. Please reference your WSDL or the describe call for the appropriate names.")
        return f'{alias}."{f.name}"', f, ref.relationship_name, target

    def compile(self) -> Compiled:
        columns: list[Column] = []
        seen = set()
        for p in self.q.fields:
            sql, f, rel, target = self.resolve(p)
            if sql in seen:
                raise _malformed(self.text, p.pos, f"duplicate field selected: {p.text}")
            seen.add(sql)
            columns.append(Column(sql, f, rel, target))
        conds = []
        if self.q.where is not None:
            conds.append(self.cond(self.q.where))
        if not self.include_deleted and self.obj.get("IsDeleted"):
            conds.append('t0."IsDeleted" = 0')
        where_params = self.params
        order_parts = []
        for item in self.q.order:
            sql, f, _rel, _t = self.resolve(item.path)
            if not f.filterable:
                raise _invalid_field(self.text, item.path.pos, f"field '{f.name}' can not be sorted in a query call")
            collate = " COLLATE NOCASE" if f.type in STRINGY and f.type not in ("id", "reference") else ""
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            order_parts.append(f"{sql}{collate} {'DESC' if item.descending else 'ASC'} "
                               f"NULLS {'LAST' if nulls_last else 'FIRST'}")
        if order_parts:
            order_parts.append("t0.rowid ASC")
        else:
            order_parts.append("t0.rowid ASC")
        from_sql = f'"{self.obj.name}" t0'
        for _key, (alias, target, ref) in self.joins.items():
            from_sql += f' LEFT JOIN "{target.name}" {alias} ON {alias}."Id" = t0."{ref.name}"'
        return Compiled(obj=self.obj, count=self.q.count, columns=columns, from_sql=from_sql,
                        where_sql=" AND ".join(f"({c})" for c in conds) or "1=1", params=where_params,
                        order_sql=", ".join(order_parts), limit=self.q.limit,
                        long_text_fields=sum(1 for c in columns if c.field.long_text), ast=self.q)

    def cond(self, node) -> str:
        if isinstance(node, BoolOp):
            return "(" + f" {node.op} ".join(self.cond(i) for i in node.items) + ")"
        if isinstance(node, Not):
            # SOQL is two-valued: a comparison with null is simply false, so NOT of it is true.
            return f"NOT IFNULL({self.cond(node.item)}, 0)"
        return self.compare(node)

    def value(self, f: Field, lit: Literal):
        bad = (f"value of filter criterion for field '{f.name}' must be of type {self.type_name(f)} "
               "and should not be enclosed in quotes")
        if f.type in STRINGY:
            if lit.kind != "string":
                raise _invalid_field(self.text, lit.pos, f"value of filter criterion for field '{f.name}' must be of "
                                     f"type {self.type_name(f)} and should be enclosed in quotes")
            value = str(lit.value)
            if f.type in ("id", "reference"):
                if len(value) not in (15, 18) or not value.isalnum():
                    raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"\n{self.text}\n\nERROR at Row:1:Column:"
                                    f"{lit.pos + 1}\ninvalid ID field: {value}")
                value = to18(value)
            return value
        if f.type == "boolean":
            if lit.kind != "boolean":
                raise _invalid_field(self.text, lit.pos, bad)
            return 1 if lit.value else 0
        if f.type in NUMERIC:
            if lit.kind != "number":
                raise _invalid_field(self.text, lit.pos, bad)
            return lit.value
        if f.type == "date":
            if lit.kind != "date":
                raise _invalid_field(self.text, lit.pos, bad)
            return lit.value.isoformat()
        if f.type == "datetime":
            if lit.kind != "datetime":
                raise _invalid_field(self.text, lit.pos, bad)
            return epoch_ms(lit.value)
        raise _invalid_field(self.text, lit.pos, f"field '{f.name}' can not be filtered in a query call")

    @staticmethod
    def type_name(f: Field) -> str:
        return {"datetime": "dateTime", "reference": "id", "textarea": "string", "picklist": "string",
                "email": "string", "url": "string", "int": "int", "currency": "currency"}.get(f.type, f.type)

    def compare(self, node: Compare) -> str:
        sql, f, _rel, _t = self.resolve(node.path)
        if not f.filterable:
            raise _invalid_field(self.text, node.path.pos, f"field '{f.name}' can not be filtered in a query call")
        nocase = " COLLATE NOCASE" if f.type in STRINGY and f.type not in ("id", "reference") else ""
        if node.op in ("IN", "NOT IN"):
            values = []
            for lit in node.value:
                if lit.kind == "null":
                    raise _malformed(self.text, lit.pos, "unexpected token: 'null'")
                values.append(self.value(f, lit))
            self.params.extend(values)
            marks = ",".join("?" * len(values))
            if node.op == "IN":
                return f"{sql}{nocase} IN ({marks})"
            return f"({sql} IS NULL OR {sql}{nocase} NOT IN ({marks}))"
        lit = node.value
        if node.op == "LIKE":
            if f.type not in STRINGY or f.type in ("id", "reference"):
                raise _invalid_field(self.text, node.path.pos, f"invalid operator on {f.type} field: LIKE")
            self.params.append(lit.like)
            return f"{sql} LIKE ? ESCAPE '\\'"
        if lit.kind == "null":
            if node.op == "=":
                return f"{sql} IS NULL"
            if node.op == "!=":
                return f"{sql} IS NOT NULL"
            raise _malformed(self.text, lit.pos, f"unexpected token: 'null'")
        if f.type == "boolean" and node.op not in ("=", "!="):
            raise _invalid_field(self.text, node.path.pos, f"invalid operator on boolean field: {node.op}")
        self.params.append(self.value(f, lit))
        if node.op == "!=":
            return f"({sql} IS NULL OR {sql}{nocase} != ?)"
        return f"{sql}{nocase} {node.op} ?"


def compile_query(query_text: str, include_deleted: bool) -> Compiled:
    return Compiler(query_text, parse(query_text), include_deleted).compile()
