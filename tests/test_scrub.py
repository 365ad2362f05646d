from router.upstream.scrub import REDACTED, Scrubber, upstream_error_message

KEY = "sk-live-0123456789abcdefghijklmnop"


def test_whole_and_half_masked_keys_are_scrubbed() -> None:
    scrub = Scrubber.for_secrets([KEY])
    assert scrub.text(f"bad key {KEY}!") == f"bad key {REDACTED}!"
    masked = KEY[: len(KEY) // 2] + "****"
    assert KEY[: len(KEY) // 2] not in scrub.text(masked)
    assert scrub.data(f'{{"k": "{KEY}"}}'.encode()) == f'{{"k": "{REDACTED}"}}'.encode()


def test_error_message_from_body_is_scrubbed_and_bounded() -> None:
    scrub = Scrubber.for_secrets([KEY])
    body = f'{{"error": {{"message": "Incorrect API key provided: Bearer {KEY}"}}}}'.encode()
    message = upstream_error_message("up", 401, body, scrub)
    assert KEY not in message and "Incorrect API key provided" in message
    assert upstream_error_message("up", 500, b"<html>" + b"x" * 10000, scrub).startswith("upstream 'up' answered 500")
    assert len(upstream_error_message("up", 500, b"x" * 10000, scrub)) <= 2000


def test_a_chunk_without_a_secret_is_returned_as_is_and_a_short_key_is_still_found() -> None:
    scrub = Scrubber.for_secrets([KEY, "short-key"])
    clean = b'data: {"text": "nothing to hide"}\n\n'
    assert scrub.data(clean) is clean
    assert scrub.data(b"a short-key b") == f"a {REDACTED} b".encode()
    assert KEY[len(KEY) // 2:] not in scrub.data(f"****{KEY[len(KEY) // 2:]}".encode()).decode()
