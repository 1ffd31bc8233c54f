"""The signup rules: what a key, token, repository, code and invite must look like."""

from __future__ import annotations

import pytest

from cockpit.core import signup


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("grace/compiler", "https://github.com/grace/compiler"),
        (" grace/compiler.git ", "https://github.com/grace/compiler"),
        ("https://github.com/grace/compiler.git", "https://github.com/grace/compiler"),
        ("https://gitlab.example.com/team/sub/app", "https://gitlab.example.com/team/sub/app"),
    ],
)
def test_repositories_are_stored_as_https_urls(typed: str, stored: str) -> None:
    """owner/name means GitHub; https addresses are kept, without a trailing .git."""
    assert signup.repository(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "compiler", "http://github.com/a/b", "git@github.com:a/b.git", "file:///etc/passwd",
     "https://github.com/", "https://github.com/a/../../b", "ssh://github.com/a/b"],
)  # fmt: skip
def test_other_repository_forms_are_refused(typed: str) -> None:
    """Anything but owner/name or an https address with a path is refused with a reason."""
    with pytest.raises(ValueError, match="owner/name"):
        signup.repository(typed)


def test_key_and_token_formats() -> None:
    """sk-ant- keys and github_pat_/ghp_/gho_ tokens pass; look-alikes are refused."""
    assert signup.anthropic_key(" sk-ant-api03-abcdEFGH_1234 ") == "sk-ant-api03-abcdEFGH_1234"
    for bad in ("sk-abc", "sk-ant-", "sk-ant-has space inside", "ANTHROPIC"):
        with pytest.raises(ValueError, match="sk-ant-"):
            signup.anthropic_key(bad)
    for good in ("github_pat_" + "A1" * 20, "ghp_" + "a" * 36, "gho_" + "b" * 36):
        assert signup.github_token(good) == good
    with pytest.raises(ValueError, match="github_pat_"):
        signup.github_token("ghx_" + "a" * 36)


def test_codes_are_six_digits_and_digests_bind_the_phone() -> None:
    """A code is 6 digits; its digest differs per phone and per key, and hides the code."""
    code = signup.new_code()
    assert len(code) == 6 and code.isdigit()
    assert signup.clean_code(" 12 34 56 ") == "123456"
    with pytest.raises(ValueError):
        signup.clean_code("12345")
    digest = signup.code_digest("k", "+15550000001", code)
    assert code not in digest
    assert digest != signup.code_digest("k", "+15550000002", code)
    assert digest != signup.code_digest("other", "+15550000001", code)


def test_invites_and_the_sandbox() -> None:
    """No invite codes closes signup; the sandbox is known by its number or a keyword."""
    with pytest.raises(ValueError, match="no invitations are open"):
        signup.check_invite("x", [])
    with pytest.raises(ValueError, match="not valid"):
        signup.check_invite("x", ["beta"])
    signup.check_invite(" beta ", ["alpha", "beta"])
    assert signup.is_sandbox("whatsapp:+14155238886", None)
    assert signup.is_sandbox("whatsapp:+15550009999", "silver-fox")
    assert not signup.is_sandbox("whatsapp:+15550009999", None)


def test_a_refused_code_request_says_how_long_to_wait() -> None:
    """The person is told why no code comes and when to ask again, in minutes once long."""
    from cockpit.core.signup import too_soon

    assert too_soon("resend", 29.5) == "A code was just sent. Wait 30 s before asking again."
    assert too_soon("resend", None) == "A code was just sent. Wait a moment before asking again."
    assert too_soon("locked", 14 * 60 + 5) == (
        "Too many wrong codes for this number. Try again in 15 min."
    )
