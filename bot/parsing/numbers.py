"""Chinese and Arabic numerals to numbers (no I/O, never raises)."""

from __future__ import annotations

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}

# Longer digit runs are no counts (phone numbers, ids) and could overflow a conversion.
_MAX_LEN = 12

# One numeral in a regular expression: Arabic (optionally decimal) or Chinese.
NUM = r"(?:\d+(?:\.\d+)?万?|[零〇一二两三四五六七八九十百千]+万?)"


def cn_to_int(text: str) -> int | None:
    """Read a Chinese numeral such as 十八, 三十六, 一百二十, 两; None when it is not one."""
    if not text or len(text) > _MAX_LEN:
        return None
    if all(ch in _DIGITS for ch in text):
        if len(text) == 1:
            return _DIGITS[text]
        # Digit by digit (二〇二六), as in years.
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = section = 0
    digit: int | None = None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit = None
        else:
            return None
    return total + section + (digit or 0)


def to_number(text: str) -> float | None:
    """Read an Arabic or Chinese numeral; None when it is neither."""
    text = text.strip()
    if not text or len(text) > _MAX_LEN:
        return None
    if len(text) > 1 and text[-1] == "万":  # 1万, 1.5万, 三万
        value = to_number(text[:-1])
        return None if value is None else value * 10000
    if text[0].isascii():
        try:
            return float(text)
        except ValueError:
            return None
    value = cn_to_int(text)
    return None if value is None else float(value)


def to_int(text: str) -> int | None:
    value = to_number(text)
    if value is None or value != int(value):
        return None
    return int(value)
