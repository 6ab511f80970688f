import json
import logging
import re
from urllib.parse import quote, urlencode

from flx.config.redact import MASK, RedactingFilter, Redactor, install_log_redaction

SECRET = "s3cr3t/Tok+en=="


def test_masks_raw_url_encoded_and_json_forms():
    r = Redactor([SECRET])
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(SECRET, safe=""))
    text = (f"raw {SECRET} | header oauth_token=\"{quote(SECRET, safe='')}\" | "
            f"query ?{urlencode({'t': SECRET})} | lower {lower_hex} | "
            f"json {json.dumps({'k': SECRET})}")
    out = r.text(text)
    assert "s3cr3t" not in out.lower()
    assert out.count(MASK) == 5


def test_json_escaped_secret_is_masked():
    secret = 'pa"ss\\word'
    r = Redactor([secret])
    assert r.text(json.dumps({"password": secret})) == f'{{"password": "{MASK}"}}'


def test_longer_secret_masked_whole_when_it_contains_a_shorter_one():
    r = Redactor(["abcd", "abcdefgh"])
    assert r.text("x abcdefgh y") == f"x {MASK} y"


def test_secrets_shorter_than_four_characters_are_left_alone():
    r = Redactor(["abc", None, ""])
    assert not r
    assert r.text("abc abc") == "abc abc"


def test_data_is_redacted_recursively_without_touching_other_values():
    r = Redactor([SECRET])
    data = {"a": [SECRET, {"b": f"Bearer {SECRET}"}], "n": 5, "t": (SECRET,), SECRET: 1}
    out = r.data(data)
    assert out == {"a": [MASK, {"b": f"Bearer {MASK}"}], "n": 5, "t": (MASK,), MASK: 1}
    assert data["a"][0] == SECRET  # the input is not modified


def test_added_secrets_are_masked_too():
    r = Redactor()
    r.add("late-token-value")
    assert r.text("got late-token-value") == f"got {MASK}"


def test_logging_filter_masks_message_args_and_traceback_of_child_loggers(caplog):
    redactor = Redactor([SECRET])
    parent = logging.getLogger("flx.test_redact")
    child = logging.getLogger("flx.test_redact.child")
    caplog.handler.addFilter(RedactingFilter(redactor))
    try:
        with caplog.at_level(logging.INFO, logger="flx.test_redact"):
            child.info("token is %s", SECRET)
            try:
                raise ValueError(f"bad {SECRET}")
            except ValueError:
                parent.exception("failed")
    finally:
        caplog.handler.filters.clear()
    assert SECRET not in caplog.text
    assert f"token is {MASK}" in caplog.text
    assert f"ValueError: bad {MASK}" in caplog.text


def test_install_log_redaction_replaces_previous_filter():
    logger = logging.getLogger("flx.test_install")
    install_log_redaction(Redactor(["first-secret"]), logger)
    install_log_redaction(Redactor(["second-secret"]), logger)
    filters = [f for f in logger.filters if isinstance(f, RedactingFilter)]
    assert len(filters) == 1
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "second-secret", (), None)
    filters[0].filter(record)
    assert record.getMessage() == MASK
    logger.filters.clear()
