"""People's passwords: argon2id (argon2-cffi), with RFC 9106's second recommended parameters.

Parameters (``PARAMETERS``): argon2id, version 19, time cost 3 iterations, memory 64 MiB
(65,536 KiB), parallelism 4 lanes, a 16-byte random salt per password, a 32-byte tag — RFC 9106
§4 "SECOND RECOMMENDED option", for machines where 2 GiB per sign-in is too much. One hash or
verification took 0.26–0.38 s on the 2-core CI machine (measured 2026-12-07); the console
computes it on a worker thread, never on the event loop. The stored text is argon2's PHC string
(``$argon2id$v=19$m=65536,t=3,p=4$salt$tag``), so a hash made under other parameters still
verifies, and is rehashed with these ones at the next successful sign-in.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

PARAMETERS = RFC_9106_LOW_MEMORY
_HASHER = PasswordHasher.from_parameters(PARAMETERS)
# Verified when the login name is unknown, so that an unknown name costs the same time as a
# wrong password and the answer's timing does not tell them apart.
_DECOY = _HASHER.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 10
MAX_LENGTH = 200
# A generated password: 16 characters of an alphabet without look-alikes (0/O, 1/l/I), about
# 90 bits; people copy it from a terminal or the console once and change it.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 16


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from; with no hash (no such
    account) the decoy is verified instead and the answer is no."""
    try:
        matched = _HASHER.verify(stored_hash or _DECOY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def generate_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))
