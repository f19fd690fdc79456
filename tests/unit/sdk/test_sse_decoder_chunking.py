"""`SSEDecoder` decodes a stream to the same frames however it is cut into chunks (CRLF split across a
chunk boundary used to end the frame early), for LF, CR and CRLF line ends, comments, multi-line data,
ids and retry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arkor.protocol.sse import SSEDecoder, SSEFrame

# Field values: no line terminators; may hold colons, spaces, unicode.
_value = st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=12)
_line_end = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def _block(draw):
    """One frame's lines and the frame the decoder must produce (None for a comment/retry-only block)."""
    lines: list[str] = []
    event = draw(st.none() | _value.filter(lambda v: v != ""))
    data = draw(st.lists(_value, max_size=3))
    frame_id = draw(st.none() | _value)
    retry = draw(st.none() | st.integers(min_value=0, max_value=10**6))
    if draw(st.booleans()):
        lines.append(":" + draw(_value))
    if frame_id is not None:
        lines.append(f"id: {frame_id}")
    if event is not None:
        lines.append(f"event: {event}")
    for part in data:
        lines.append(f"data:{part}" if draw(st.booleans()) and not part.startswith(" ") else f"data: {part}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    has_field = event is not None or bool(data) or frame_id is not None
    expected = SSEFrame(event=event or "message", data="\n".join(data), id=frame_id, retry=retry) if has_field else None
    return lines, expected


@st.composite
def _stream(draw):
    blocks = draw(st.lists(_block(), min_size=1, max_size=6))
    text = ""
    expected = []
    for lines, frame in blocks:
        for line in lines + [""]:  # the blank line ends the block
            end = draw(_line_end)
            if line == "" and end == "\n" and text.endswith("\r"):
                end = "\r\n"  # CR + LF would be one CRLF, not a CR line end and an LF blank line
            text += line + end
        if frame is not None:
            expected.append(frame)
    return text, expected


def _decode(chunks: list[str]) -> list[SSEFrame]:
    decoder = SSEDecoder()
    frames = []
    for chunk in chunks:
        frames.extend(decoder.feed(chunk))
    frames.extend(decoder.flush())
    return frames


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    pieces, last = [], 0
    for point in points + [len(text)]:
        pieces.append(text[last:point])
        last = point
    return pieces


@settings(max_examples=400, deadline=None)
@given(_stream(), st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_any_chunking_decodes_to_the_same_frames(stream, cuts) -> None:
    text, expected = stream
    assert _decode([text]) == expected
    assert _decode(_cut(text, cuts)) == expected
    assert _decode(list(text)) == expected  # one character at a time: every CR/LF pair split


def test_crlf_split_across_chunks_keeps_the_frame_whole() -> None:
    frames = _decode(["event: training.log\r", '\ndata: {"step": 1}\r', "\n\r", "\n"])
    assert frames == [SSEFrame(event="training.log", data='{"step": 1}')]


def test_bom_nul_id_and_unterminated_last_frame() -> None:
    frames = _decode(["\ufeffid: a\x00b\ndata: x\n\n", "data: tail"])
    assert frames == [SSEFrame(data="x"), SSEFrame(data="tail")]


def test_half_read_feed_loses_no_frame() -> None:
    decoder = SSEDecoder()
    first = decoder.feed("data: 1\n\ndata: 2\n\n")
    assert next(first).data == "1"  # the caller stops here (e.g. at an end sentinel)
    assert list(decoder.feed("data: 3\n\n")) == [SSEFrame(data="3")]
