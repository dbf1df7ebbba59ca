"""Arithmetic on report figures, done in code and shown as a formula.

Percentages subtract to percentage points (「5.5% − 2.5% = 3.0个百分点」); amounts in compatible units
are scaled to the smaller unit (「6万亿元 − 9800亿元 = 50200亿元」), operands shown as cited; ratios give 「倍」, growth from two
levels a percentage. Every result is rounded for display only; ``Formula.result`` is exact::

    >>> difference(Quantity(5.5, "%"), Quantity(2.5, "%")).text
    '5.5% − 2.5% = 3.0个百分点'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from rag.textnorm import figures, fold

PERCENT = frozenset({"%", "个百分点", "百分点"})
_SCALE = (("万亿", Decimal(10) ** 12), ("亿", Decimal(10) ** 8), ("万", Decimal(10) ** 4), ("千", Decimal(10) ** 3))


@dataclass(frozen=True)
class Quantity:
    """A figure: value and unit as the report writes them (「5.5」「%」, 「1.2」「万亿元」)."""

    value: float
    unit: str

    @property
    def shown(self) -> str:
        """As written: 「5.5%」, 「3300个」."""
        return f"{number(self.value)}{self.unit}"

    @property
    def operand(self) -> str:
        """As an operand of a formula: a negative value in brackets (「下降3.3%」 → 「(−3.3%)」)."""
        return f"(−{number(-self.value)}{self.unit})" if self.value < 0 else self.shown


@dataclass(frozen=True)
class Formula:
    """A computation: its display text and the exact result with its unit."""

    text: str
    result: float
    unit: str

    @property
    def shown_result(self) -> str:
        """The result as displayed after 「=」."""
        return self.text.rsplit("= ", 1)[-1]


def number(value: float, decimals: int | None = None) -> str:
    """A number without float noise: 5.5 → 「5.5」, 3.0 → 「3」 (or fixed ``decimals``)."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    d = Decimal(repr(value)).quantize(Decimal("0.0001")).normalize()
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimals(*values: float) -> int:
    return max((len(number(v).split(".")[1]) if "." in number(v) else 0) for v in values)


def split_unit(unit: str) -> tuple[Decimal, str]:
    """「万亿元」 → (10^12, 元); 「个」 → (1, 个)."""
    for prefix, scale in _SCALE:
        if unit.startswith(prefix) and len(unit) > len(prefix):
            return scale, unit[len(prefix):]
    if unit in ("万", "亿"):
        return dict(_SCALE)[unit], ""
    return Decimal(1), unit


def compatible(a: Quantity, b: Quantity) -> bool:
    """Whether the two can be added or subtracted (both percentages, or the same base unit)."""
    if a.unit in PERCENT or b.unit in PERCENT:
        return a.unit in PERCENT and b.unit in PERCENT and (a.unit == "%") == (b.unit == "%")
    return split_unit(a.unit)[1] == split_unit(b.unit)[1]


def _common(a: Quantity, b: Quantity) -> tuple[Quantity, Quantity]:
    """Both in the smaller of the two units (67665亿元 and 6万亿元 → 亿元: exact, no new decimals)."""
    if a.unit == b.unit:
        return a, b
    (sa, _), (sb, _) = split_unit(a.unit), split_unit(b.unit)
    unit, scale = (a.unit, sa) if sa <= sb else (b.unit, sb)
    conv = [Quantity(float(Decimal(repr(q.value)) * s / scale), unit) for q, s in ((a, sa), (b, sb))]
    return conv[0], conv[1]


def difference(a: Quantity, b: Quantity) -> Formula:
    """The difference a − b; percentages give percentage points."""
    if not compatible(a, b):
        raise ValueError(f"cannot subtract {b.shown} from {a.shown}")
    x, y = _common(a, b)
    result = float(Decimal(repr(x.value)) - Decimal(repr(y.value)))
    if x.unit == "%":
        unit, dec = "个百分点", max(1, _decimals(x.value, y.value))
    else:
        unit, dec = x.unit, _decimals(x.value, y.value)
    return Formula(f"{a.operand} − {b.operand} = {number(result, dec)}{unit}", result, unit)


def total(parts: list[Quantity]) -> Formula:
    """The sum a + b + …"""
    if len(parts) < 2 or not all(compatible(parts[0], p) for p in parts[1:]) or parts[0].unit == "%":
        raise ValueError("sum needs two or more amounts in compatible units")
    conv = [parts[0]]
    for p in parts[1:]:
        conv[0], c = _common(conv[0], p)
        conv.append(c)
    conv = [_common(conv[0], p)[1] for p in conv]
    result = float(sum(Decimal(repr(p.value)) for p in conv))
    dec = _decimals(*(p.value for p in conv))
    return Formula(" + ".join(p.operand for p in parts) + f" = {number(result, dec)}{conv[0].unit}", result, conv[0].unit)


def ratio(a: Quantity, b: Quantity) -> Formula:
    """The ratio a ÷ b in 倍."""
    if not compatible(a, b) or b.value == 0:
        raise ValueError(f"cannot divide {a.shown} by {b.shown}")
    x, y = _common(a, b)
    result = x.value / y.value
    return Formula(f"{a.shown} ÷ {b.shown} = {number(result, 2)}倍", result, "倍")


def share(part: Quantity, whole: Quantity) -> Formula:
    """The share part ÷ whole in % (「5853.9亿元 ÷ 67665亿元 = 8.65%」)."""
    if not compatible(part, whole) or whole.value == 0 or part.unit in PERCENT:
        raise ValueError(f"cannot take {part.shown} as a share of {whole.shown}")
    x, y = _common(part, whole)
    result = x.value / y.value * 100
    return Formula(f"{part.shown} ÷ {whole.shown} = {number(result, 2)}%", result, "%")


def growth(new: Quantity, old: Quantity) -> Formula:
    """(new − old) ÷ old in %."""
    if not compatible(new, old) or old.value == 0 or new.unit in PERCENT:
        raise ValueError(f"cannot compute growth from {old.shown} to {new.shown}")
    x, y = _common(new, old)
    result = (x.value - y.value) / y.value * 100
    return Formula(f"({new.shown} − {old.shown}) ÷ {old.shown} = {number(result, 1)}%", result, "%")


_NEGATIVE_RE = re.compile(r"\((?:−|-)\s*$")  # 「(−3.3%)」: a negative operand as ``Quantity.operand`` shows it
_FORMULA_RE = re.compile(r"([^\n=:：]*?[\d.]+[^\n=]*?)\s*=\s*(-?[\d.]+(?:个百分点|%|倍|[^\s\[\]，,。;；]{0,4}))")


def verified_results(text: str) -> list[str]:
    """Results shown after 「=」 in ``text`` whose formula recomputes to exactly that display.

    The number check accepts these as grounded when the operands are (they are not in any passage):
    ``verified_results("5.5% − 2.5% = 3.0个百分点[1][2]") == ["3.0个百分点"]``.
    """
    out: list[str] = []
    for m in _FORMULA_RE.finditer(fold(text)):
        lhs, shown = m.group(1), m.group(2)
        qs = [Quantity(-f.value if _NEGATIVE_RE.search(lhs[:f.start]) else f.value, f.unit)
              for f in figures(lhs) if f.value is not None and not f.redacted]
        try:
            if lhs.strip().startswith("(") and "÷" in lhs and len(qs) == 3:
                formula = growth(qs[0], qs[1])
            elif "÷" in lhs and len(qs) == 2 and shown.endswith("%"):
                formula = share(qs[0], qs[1])
            elif "÷" in lhs and len(qs) == 2:
                formula = ratio(qs[0], qs[1])
            elif "+" in lhs and len(qs) >= 2:
                formula = total(qs)
            elif ("−" in lhs or "-" in lhs) and len(qs) == 2:
                formula = difference(qs[0], qs[1])
            else:
                continue
        except ValueError:
            continue
        if fold(formula.shown_result) == shown:
            out.append(shown)
    return out


def without_verified_results(text: str) -> str:
    """``text`` with each verified formula result blanked (for the number check of the operands only)."""
    folded = fold(text)
    for shown in verified_results(text):
        folded = folded.replace(f"= {shown}", "= …", 1).replace(f"={shown}", "=…", 1)
    return folded
