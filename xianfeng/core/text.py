"""Chinese text helpers."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """拼音首字母 of a Chinese name, lower case: 河滨社区 → hbsq. Latin letters and digits are kept."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(ch for ch in "".join(letters).lower() if ch.isalnum())[:100]


def clean_text(value: object, name: str, max_length: int, *, required: bool = True, min_length: int = 0,
               multiline: bool = False) -> str:
    """The one cleaner for free text a service stores: normalised as typed (full-width punctuation kept), trimmed,
    required and length-checked with the field's name in the error. `multiline` keeps line breaks (bodies, notes)."""
    from django.core.exceptions import ValidationError

    from .ids import normalise_text

    if multiline and value is not None:
        lines = [normalise_text(line) for line in str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        text = "\n".join(lines).strip("\n")
    else:
        text = normalise_text(value)
    if required and not text:
        raise ValidationError({name: ["不能为空"]})
    if len(text) > max_length:
        raise ValidationError({name: [f"不能超过{max_length}个字"]})
    if text and len(text) < min_length:
        raise ValidationError({name: [f"至少{min_length}个字"]})
    return text
