"""Password hashing with the standard library's scrypt.

Hashes read ``scrypt:N:R:P$SALT$HEX``, the layout Werkzeug uses, so either side
can check the other's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DEFAULT_COST = (2**15, 8, 1)


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(
        password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
    ).hex()


def generate_password_hash(password: str, cost: tuple[int, int, int] = DEFAULT_COST) -> str:
    n, r, p = cost
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(16))
    return f"scrypt:{n}:{r}:{p}${salt}${_scrypt(password, salt, n, r, p)}"


def check_password_hash(pwhash: str, password: str) -> bool:
    try:
        method, salt, expected = pwhash.split("$", 2)
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
