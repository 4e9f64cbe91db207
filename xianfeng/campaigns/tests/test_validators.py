"""Property tests of the upload validators and the money parser: any input gets a verdict, never a crash, and a file is
accepted only when both its name and its first bytes say it is a document (an image)."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from xianfeng.campaigns.services.bulletins import check_image
from xianfeng.campaigns.services.plans import PLAN_DOCUMENT_TYPES, check_document
from xianfeng.campaigns.views.ventures import yuan_to_fen

EXTENSIONS = [*PLAN_DOCUMENT_TYPES, ".txt", ".exe", ".png", ".PDF", ""]
MAGICS = [m for ms in PLAN_DOCUMENT_TYPES.values() for m in ms] + [b"GIF89a", b"\x89PNG", b"MZ", b""]


@settings(max_examples=200, deadline=None)
@given(stem=st.text(alphabet=st.characters(exclude_characters="./\\\x00"), max_size=20),
       ext=st.sampled_from(EXTENSIONS), magic=st.sampled_from(MAGICS), rest=st.binary(max_size=64))
def test_a_plan_file_is_a_document_by_name_and_content(stem, ext, magic, rest):
    upload = SimpleUploadedFile((stem or "f") + ext, magic + rest)
    try:
        check_document(upload)
    except ValidationError as exc:
        assert "file" in exc.message_dict
        accepted = False
    else:
        accepted = True
    lowered = ext.lower()
    expected = lowered in PLAN_DOCUMENT_TYPES and any((magic + rest).startswith(m)
                                                      for m in PLAN_DOCUMENT_TYPES[lowered])
    if lowered == ".docx":  # a .docx must also open as a zip holding word/document.xml (core.uploads), which
        expected = False  # a zip signature followed by random bytes never is
    assert accepted == expected
    assert upload.tell() == 0  # the file is left where a later save starts reading


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=256))
def test_random_bytes_are_never_taken_for_an_image(data):
    with pytest.raises(ValidationError) as info:
        check_image(SimpleUploadedFile("x.png", data))
    assert "image" in info.value.message_dict


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_real_images_pass(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, fmt)
    check_image(SimpleUploadedFile(f"x.{fmt.lower()}", buffer.getvalue()))


@given(fen=st.integers(min_value=0, max_value=10**12))
def test_yuan_to_fen_round_trips_every_amount_in_fen(fen):
    assert yuan_to_fen(Decimal(fen) / 100) == fen
