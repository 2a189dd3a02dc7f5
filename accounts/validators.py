"""Format rules for WeChat identifiers and credentials.

Each validator's message names the rule, so a form shows the field and why.
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

validate_appid = RegexValidator(
    r"^wx[0-9a-f]{16}\Z",
    _("An AppID is “wx” followed by 16 lowercase hexadecimal characters."),
    code="appid",
)
validate_appsecret = RegexValidator(
    r"^[0-9a-f]{32}\Z",
    _("An AppSecret is exactly 32 lowercase hexadecimal characters."),
    code="appsecret",
)
validate_server_token = RegexValidator(
    r"^[A-Za-z0-9]{3,32}\Z",
    _("The server token is 3 to 32 letters and digits."),
    code="server_token",
)
validate_encoding_aes_key = RegexValidator(
    r"^[A-Za-z0-9]{43}\Z",
    _("The EncodingAESKey is exactly 43 letters and digits."),
    code="encoding_aes_key",
)
validate_original_id = RegexValidator(
    r"^gh_[0-9a-f]{12}\Z",
    _("The original ID is “gh_” followed by 12 lowercase hexadecimal characters."),
    code="original_id",
)
validate_wechat_id = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_-]{5,19}\Z",
    _("A WeChat ID is 6 to 20 letters, digits, “_” or “-”, starting with a letter."),
    code="wechat_id",
)
# Unified social credit code (18 characters, GB 32100-2015) or a legacy
# organisation code (8 characters, a hyphen optional, and a check character).
_credit_code_format = RegexValidator(
    r"^([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9A-Z]{8}-?[0-9X])\Z",
    _("Enter an 18-character unified social credit code or a 9-character organisation code."),
    code="credit_code",
)

# GB 32100-2015 §4/§5: the code's 31-character set and the weights of positions 1–17;
# the 18th character is the check character C18 = 31 − (Σ Ci·Wi mod 31), 31 written "0".
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    """The check character of a unified social credit code's first 17 characters."""
    total = sum(USCC_CHARSET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    """An 18-character unified social credit code whose check character is right
    (GB 32100-2015), or a 9-character legacy organisation code (issue 29)."""
    _credit_code_format(value)
    if len(value) == 18:
        expected = uscc_check_character(value[:17])
        if value[17] != expected:
            raise ValidationError(
                _(
                    "“%(code)s” is not a valid unified social credit code: its last character "
                    "(check character) should be “%(expected)s”. Check the code on the licence."
                ),
                code="credit_code_check",
                params={"code": value, "expected": expected},
            )
