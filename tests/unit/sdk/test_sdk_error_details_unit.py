"""`CloudApiError` keeps a 400's `details` and lists each in its text, without repeating the summary."""

from __future__ import annotations

from arkor.sdk._errors_http import error_from_body
from arkor.sdk.errors import CloudApiError


def test_one_problem_already_in_the_summary_is_not_repeated() -> None:
    error = error_from_body(
        400, '{"error": "config.loraR must be greater than 0", "details": ["config.loraR must be greater than 0"]}'
    )
    assert str(error) == "config.loraR must be greater than 0"
    assert error.details == ["config.loraR must be greater than 0"]


def test_issue_without_a_path_names_its_line() -> None:
    error = error_from_body(
        400,
        '{"error": "bad rows:", "details": [{"line": 3, "field": "text", "message": "is required"}, {"message": "dataset has no rows"}, 7]}',
    )
    assert str(error) == "bad rows:\n  line 3: text is required\n  dataset has no rows\n  7"


def test_body_without_details_keeps_the_message() -> None:
    error = error_from_body(409, '{"error": "already cancelled"}')
    assert isinstance(error, CloudApiError) and str(error) == "already cancelled" and error.details == []
