"""Proofs, throttles and sign-ins on SQLite and PostgreSQL, shared by every relay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cockpit.core import signup
from cockpit.core.messages import OutboundDraft
from cockpit.store import phone_codes, phone_proofs, signins, throttles, users
from cockpit.store.db import Database

PHONE = "+15552220001"
RULES = signup.CodeRules()


def reply(purpose: str) -> OutboundDraft:
    return OutboundDraft(key=f"proof-reply:{purpose}", to=PHONE, body="ok", kind="notice")


def test_parallel_attempts_cannot_all_slip_under_a_limit(db: Database) -> None:
    """Twenty attempts at once against a limit of five: exactly five are counted."""
    bucket = [("signup:address:203.0.113.7", 5, 3600.0)]
    with ThreadPoolExecutor(10) as pool:
        allowed = list(pool.map(lambda _: throttles.hit(db, bucket), range(20)))
    assert allowed.count(True) == 5


def test_a_proof_is_bound_to_its_phone_and_used_once(db: Database) -> None:
    """Only the phone it was made for can prove a code; the page takes it once."""
    phone_proofs.issue(db, PHONE, "signup", "d" * 64, ttl=600)
    assert not phone_proofs.prove(db, "+15552220002", "d" * 64, reply)
    assert phone_proofs.prove(db, PHONE, "d" * 64, reply)
    assert phone_proofs.take(db, PHONE, "d" * 64) is not None
    assert phone_proofs.take(db, PHONE, "d" * 64) is None


def test_only_the_latest_five_codes_of_a_number_live(db: Database) -> None:
    """A sixth code for one number lapses the oldest, so codes cannot pile up."""
    for n in range(6):
        phone_proofs.issue(db, PHONE, "signup", f"{n}" * 64, ttl=600)
    assert not phone_proofs.prove(db, PHONE, "0" * 64, reply)
    assert phone_proofs.prove(db, PHONE, "5" * 64, reply)


def test_wrong_codes_count_across_codes_on_every_database(db: Database) -> None:
    """Five wrong tries over two codes lock the number (the new code did not reset them)."""
    phone_codes.issue(db, PHONE, "login", "a" * 64, None, ttl=600, rules=RULES)
    results = [phone_codes.check(db, PHONE, "login", "b" * 64, rules=RULES) for _ in range(4)]
    free = signup.CodeRules(resend_seconds=0)
    phone_codes.issue(db, PHONE, "login", "c" * 64, None, ttl=600, rules=free)
    results.append(phone_codes.check(db, PHONE, "login", "b" * 64, rules=RULES))
    assert results == ["wrong"] * 4 + ["locked"]
    assert phone_codes.check(db, PHONE, "login", "c" * 64, rules=RULES) == "locked"


def test_signing_out_ends_the_session_and_deleting_the_user_ends_all(db: Database) -> None:
    """A signed-out session id opens nothing; deleting the user removes their sessions."""
    user = users.add_user(db, PHONE, "Ada")
    signins.sign_in(db, "sid-1", user.id, seconds=60)
    signins.sign_in(db, "sid-2", user.id, seconds=60)
    signins.sign_out(db, "sid-1")
    assert signins.user_of(db, "sid-1") is None and signins.user_of(db, "sid-2") == user.id
    users.delete_user(db, user.id)
    assert signins.user_of(db, "sid-2") is None
