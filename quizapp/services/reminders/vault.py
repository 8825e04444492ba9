"""Secrets at rest: a robot's webhook address (its key or access token lets anyone post to the
group) and the 钉钉 signing secret are stored as Fernet tokens (AES-128-CBC with an HMAC).

The key is derived with HKDF-SHA256 from ``QUIZAPP_REMINDER_KEY`` when it is set, else from the
app's ``SECRET_KEY``: every app server and the scheduler derive the same key from the same setting.
Changing that setting makes the stored secrets unreadable (the page then asks for them again).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import DomainError

INFO = b"quizapp reminders: channel secrets"


@functools.lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(key_material: str, value: str) -> str:
    return _fernet(key_material).encrypt(value.encode()).decode("ascii")


def unseal(key_material: str, token: str) -> str:
    try:
        return _fernet(key_material).decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        raise DomainError(
            "催办渠道的密钥已更换，已保存的 Webhook 地址或签名密钥无法解密，请重新填写"
        ) from error
