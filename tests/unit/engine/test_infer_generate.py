"""The text side of the token loop: incremental decoding and stop-string hold-back (no model)."""

from __future__ import annotations

import pytest

from arkor.engine.infer.generate import Finished, SamplingSettings, TextDelta, _held_back_length, stream_text


class ByteTokenizer:
    """Each token id is a byte string; decoding joins them like a byte-level BPE does."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def decode(self, ids, skip_special_tokens=True):
        return b"".join(self.pieces[i] for i in ids).decode("utf-8", errors="replace")


def run(pieces: list[bytes], *, stop=(), stop_ids=frozenset(), max_new=100):
    tokenizer = ByteTokenizer(pieces)
    settings = SamplingSettings(max_new_tokens=max_new, stop_strings=tuple(stop), stop_token_ids=frozenset(stop_ids))
    ids = [i for i in range(len(pieces))][:max_new]
    events = list(stream_text(tokenizer, iter(ids), settings))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert all(isinstance(e, TextDelta) for e in events[:-1])
    return deltas, finished


def test_multibyte_character_split_across_tokens_is_emitted_whole():
    euro = "€".encode()  # three bytes, split over three tokens
    deltas, finished = run([b"a", euro[:1], euro[1:2], euro[2:], b"b"])
    assert "".join(deltas) == "a€b"
    assert all("\ufffd" not in d for d in deltas)
    assert finished.reason == "length" and finished.completion_tokens == 5


def test_stop_string_spread_over_tokens_never_leaks():
    deltas, finished = run([b"hel", b"lo ", b"EN", b"D", b" more"], stop=["END"])
    assert "".join(deltas) == "hello "
    assert not any("E" in d for d in deltas)
    assert finished.reason == "stop"
    assert finished.completion_tokens == 4  # generation ends at the token that completed the stop string


def test_stop_string_inside_one_token_cuts_the_text():
    deltas, finished = run([b"ab", b"cXYZd"], stop=["XY"])
    assert "".join(deltas) == "abc"
    assert finished.reason == "stop"


def test_partial_stop_prefix_is_flushed_when_it_never_completes():
    deltas, finished = run([b"a", b"E", b"N"], stop=["END"], max_new=3)
    assert "".join(deltas) == "aEN"
    assert deltas[0] == "a"  # "EN" was held back until the end
    assert finished.reason == "length"


def test_earliest_of_several_stop_strings_wins():
    deltas, finished = run([b"one two three"], stop=["three", "two"])
    assert "".join(deltas) == "one "
    assert finished.reason == "stop"


def test_stop_token_ends_generation_and_is_counted_but_not_shown():
    deltas, finished = run([b"hi", b"<eos>", b"never"], stop_ids={1})
    assert "".join(deltas) == "hi"
    assert finished == Finished("stop", 2)


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [("abcE", ["END"], 1), ("abcEN", ["END"], 2), ("abc", ["END"], 0), ("aXX", ["XXY", "XY"], 2), ("", ["A"], 0)],
)
def test_held_back_length(text, stops, expected):
    assert _held_back_length(text, stops) == expected
