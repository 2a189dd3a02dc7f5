"""Format rules for WeChat identifiers and credentials.

Each validator's message names the rule, so a form shows the field and why.
"""

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
validate_credit_code = RegexValidator(
    r"^([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9A-Z]{8}-?[0-9X])\Z",
    _("Enter an 18-character unified social credit code or a 9-character organisation code."),
    code="credit_code",
)
