"""Signatures and message crypto (docs/wechat-protocol.md §d, §e)."""

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree

from wechat.crypto import (
    CryptoError,
    InvalidAESKey,
    InvalidAppId,
    InvalidBase64,
    InvalidPadding,
    InvalidSignature,
    MessageCrypto,
    check_signature,
    decode_aes_key,
    signature,
)

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
TOKEN = "spamtest"


def crypto(appid=APPID, key=KEY):
    return MessageCrypto(TOKEN, key, appid)


def test_official_url_verification_example_matches():
    expected = "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature("AAAAA", "1714036504", "1514711492") == expected
    check_signature("AAAAA", expected, "1714036504", "1514711492")


def test_signature_sorts_parts_as_plain_strings():
    assert signature("b", "a", "c") == signature("a", "b", "c") == signature("c", "b", "a")


@pytest.mark.parametrize("bad", ["", "f464b24fc39322e44b38aa78f5edd27bd1441697", "x"])
def test_wrong_url_signature_raises_invalid_signature(bad):
    with pytest.raises(InvalidSignature):
        check_signature("AAAAA", bad, "1714036504", "1514711492")


def test_aes_key_decoding_is_lenient_about_the_trailing_bits():
    # "G" = 0b000110: its low 4 bits are non-zero, which a strict decoder rejects.
    assert len(decode_aes_key(KEY)) == 32
    assert decode_aes_key(KEY) == decode_aes_key(KEY[:-1] + "E")  # same 32 bytes


@pytest.mark.parametrize("bad", ["short", KEY + "A", KEY[:-1] + "=", KEY[:-1] + "+", None])
def test_malformed_encoding_aes_key_raises_invalid_aes_key(bad):
    with pytest.raises(InvalidAESKey):
        MessageCrypto(TOKEN, bad, APPID)


@pytest.mark.parametrize(
    "text",
    [
        "<xml><Content><![CDATA[你好，世界]]></Content></xml>",
        "中" * 1000,
        "",
        # plaintext buffer = 16 + 4 + len + 18 (appid): 26 bytes make it exactly 64,
        # so a full 32-byte padding block is added.
        "x" * 26,
        "x" * 58,
        "é" * 13,  # 26 UTF-8 bytes, block aligned as well
    ],
)
def test_encrypt_decrypt_round_trip(text):
    c = crypto()
    assert c.decrypt(c.encrypt(text)) == text


def test_block_aligned_plaintext_gets_a_full_padding_block():
    c = crypto()
    raw = base64.b64decode(c.encrypt("x" * 26))
    assert len(raw) == 96  # 64 bytes of data + 32 bytes of padding
    key = decode_aes_key(KEY)
    d = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = d.update(raw) + d.finalize()
    assert plain[-32:] == bytes([32]) * 32


def test_encryption_uses_fresh_random_bytes_each_time():
    c = crypto()
    assert c.encrypt("same") != c.encrypt("same")


def _independent_encrypt(text: str, appid: str, random16: bytes = b"0123456789abcdef") -> str:
    """The layout written out by hand, as the WeChat sample code does it."""
    msg = text.encode()
    plain = random16 + struct.pack(">I", len(msg)) + msg + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    key = decode_aes_key(KEY)
    e = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(e.update(plain) + e.finalize()).decode()


def test_decrypts_a_buffer_built_independently_of_encrypt():
    assert crypto().decrypt(_independent_encrypt("<xml>订阅</xml>", APPID)) == "<xml>订阅</xml>"


def test_other_appid_raises_invalid_appid():
    encrypted = crypto(appid="wxffffffffffffffff").encrypt("hello")
    with pytest.raises(InvalidAppId):
        crypto().decrypt(encrypted)


def test_bad_base64_raises_invalid_base64():
    with pytest.raises(InvalidBase64):
        crypto().decrypt("not base64 !!!")


def test_bad_padding_raises_invalid_padding():
    key = decode_aes_key(KEY)
    e = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    junk = b"A" * 31 + bytes([40])  # pad byte 40 > 32
    with pytest.raises(InvalidPadding):
        crypto().decrypt(base64.b64encode(e.update(junk) + e.finalize()).decode())


def test_ciphertext_not_a_whole_block_raises_invalid_padding():
    with pytest.raises(InvalidPadding):
        crypto().decrypt(base64.b64encode(b"x" * 20).decode())


def test_length_field_beyond_buffer_raises_invalid_padding():
    key = decode_aes_key(KEY)
    plain = b"r" * 16 + struct.pack(">I", 9999) + b"short" + APPID.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    e = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    with pytest.raises(InvalidPadding):
        crypto().decrypt(base64.b64encode(e.update(plain) + e.finalize()).decode())


def test_all_crypto_errors_share_a_base_class():
    for cls in (InvalidSignature, InvalidAppId, InvalidPadding, InvalidBase64, InvalidAESKey):
        assert issubclass(cls, CryptoError)


def test_decrypt_message_checks_msg_signature_first():
    c = crypto()
    encrypt = c.encrypt("<xml>hi</xml>")
    sig = signature(TOKEN, "1409304348", "xxxxxx", encrypt)
    plain = c.decrypt_message(encrypt, msg_signature=sig, timestamp="1409304348", nonce="xxxxxx")
    assert plain == "<xml>hi</xml>"
    with pytest.raises(InvalidSignature):
        c.decrypt_message(encrypt, msg_signature=sig, timestamp="1409304349", nonce="xxxxxx")


def test_reply_envelope_is_signed_and_decryptable():
    c = crypto()
    reply = "<xml><Content><![CDATA[你好]]></Content></xml>"
    envelope = c.encrypt_reply(reply, timestamp="1409304348", nonce="abc123")
    root = ElementTree.fromstring(envelope)
    encrypt = root.findtext("Encrypt")
    assert root.findtext("TimeStamp") == "1409304348"
    assert root.findtext("Nonce") == "abc123"
    assert root.findtext("MsgSignature") == signature(TOKEN, "1409304348", "abc123", encrypt)
    assert (
        c.decrypt_message(
            encrypt, msg_signature=root.findtext("MsgSignature"), timestamp="1409304348", nonce="abc123"
        )
        == reply
    )


def test_repr_never_shows_token_or_key():
    assert TOKEN not in repr(crypto()) and KEY not in repr(crypto())
