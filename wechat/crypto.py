"""Callback signatures and message encryption (docs/wechat-protocol.md §d and §e).

- ``signature(*parts)``: sha1 of the lexicographically sorted parts, lowercase hex.
  URL verification uses (token, timestamp, nonce); ``msg_signature`` adds the
  Encrypt field.
- :class:`MessageCrypto`: AES-256-CBC with the 32-byte key decoded from the
  43-character EncodingAESKey (lenient about the 43rd character's trailing bits),
  IV = first 16 key bytes, PKCS#7 padding to 32-byte blocks, plaintext layout
  ``16 random bytes || uint32 big-endian length || message || AppID``. The AppID
  is checked on decrypt; random bytes come from the OS CSPRNG.

Every failure is a :class:`CryptoError` subclass so the callback can answer
precisely (and never leak why to the caller).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # WeChat pads to 32 bytes, not AES's 16
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}\Z")


class CryptoError(Exception):
    """Base class; ``code`` is the matching WXBizMsgCrypt sample return code."""

    code = -40000


class InvalidSignature(CryptoError):
    code = -40001


class InvalidAESKey(CryptoError):
    code = -40004


class InvalidAppId(CryptoError):
    code = -40005


class InvalidPadding(CryptoError):
    """Decrypted buffer is not well formed (bad PKCS#7 padding, length, or UTF-8)."""

    code = -40008


class InvalidBase64(CryptoError):
    code = -40010


def signature(*parts: str) -> str:
    """sha1(concat(sorted(parts))) in lowercase hex (plain string sort)."""
    joined = "".join(sorted(str(p) for p in parts)).encode("utf-8")
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - the protocol mandates SHA-1


def check_signature(token: str, signature_: str, timestamp: str, nonce: str) -> None:
    """URL verification / plain push: raise InvalidSignature unless it matches (constant time)."""
    expected = signature(token, timestamp, nonce)
    if not signature_ or not hmac.compare_digest(expected, str(signature_).lower()):
        raise InvalidSignature("signature mismatch")


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-char EncodingAESKey.

    Python's base64 decoder ignores the non-zero trailing bits the 43rd
    character often carries, which is the lenient behaviour WeChat relies on.
    """
    if not isinstance(encoding_aes_key, str) or not _AES_KEY.match(encoding_aes_key):
        raise InvalidAESKey("EncodingAESKey must be 43 letters and digits")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 alnum chars always give 32 bytes
        raise InvalidAESKey("EncodingAESKey does not decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    amount = block_size - (len(data) % block_size)
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    if not data:
        raise InvalidPadding("empty buffer")
    amount = data[-1]
    if not 1 <= amount <= block_size or data[-amount:] != bytes([amount]) * amount:
        raise InvalidPadding("bad PKCS#7 padding")
    return data[:-amount]


def random_nonce(length: int = 16) -> str:
    """`length` random letters and digits from the OS CSPRNG (hex digits: one call, fast)."""
    return secrets.token_hex((length + 1) // 2)[:length]


class MessageCrypto:
    """Encrypt/decrypt callback messages of one official account."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = str(token)
        self.appid = str(appid)
        self._key = decode_aes_key(str(encoding_aes_key))
        self._iv = self._key[:16]

    def __repr__(self) -> str:  # never show the token or key
        return f"MessageCrypto(appid={self.appid!r})"

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def encrypt(self, text: str) -> str:
        """Base64 ciphertext of ``random16 || len || text || appid`` (16 random alnum bytes)."""
        message = text.encode("utf-8")
        plain = (
            random_nonce(16).encode("ascii")
            + struct.pack(">I", len(message))
            + message
            + self.appid.encode("utf-8")
        )
        encryptor = self._cipher().encryptor()
        cipher_bytes = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        return base64.b64encode(cipher_bytes).decode("ascii")

    def decrypt(self, b64: str) -> str:
        """The message inside an Encrypt field; raises InvalidBase64/InvalidPadding/InvalidAppId."""
        try:
            cipher_bytes = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidBase64("Encrypt is not valid base64")
        if not cipher_bytes or len(cipher_bytes) % 16:
            raise InvalidPadding("ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(cipher_bytes) + decryptor.finalize())
        if len(plain) < 20:
            raise InvalidPadding("buffer too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise InvalidPadding("message length exceeds the buffer")
        message, from_appid = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(from_appid, self.appid.encode("utf-8")):
            raise InvalidAppId("AppID in the message does not match")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPadding("message is not UTF-8")

    def decrypt_message(self, encrypt: str, *, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Check ``msg_signature`` over (token, timestamp, nonce, Encrypt), then decrypt."""
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not msg_signature or not hmac.compare_digest(expected, str(msg_signature).lower()):
            raise InvalidSignature("msg_signature mismatch")
        return self.decrypt(encrypt)

    def encrypt_reply(self, xml: str, *, timestamp: str | None = None, nonce: str | None = None) -> str:
        """The encrypted reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        timestamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce if nonce is not None else random_nonce(10)
        if not timestamp.isdigit() or not re.fullmatch(r"[A-Za-z0-9]{1,64}", nonce):
            raise ValueError("timestamp must be digits and nonce letters and digits")
        encrypt = self.encrypt(xml)
        msg_signature = signature(self.token, timestamp, nonce, encrypt)
        return (
            "<xml>\n"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{msg_signature}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n"
            "</xml>"
        )
