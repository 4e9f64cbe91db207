"""Chinese text helpers."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """拼音首字母 of a Chinese name, lower case: 河滨社区 → hbsq. Latin letters and digits are kept."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(ch for ch in "".join(letters).lower() if ch.isalnum())[:100]
