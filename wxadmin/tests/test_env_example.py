"""Every environment variable the settings read is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'env\.(?:str|int|bool|list|float|db|email_url)\(\s*"([A-Z0-9_]+)"')


def test_env_example_documents_every_variable_the_settings_read():
    read = set()
    for module in (ROOT / "wxadmin" / "settings").glob("*.py"):
        read |= set(READ.findall(module.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "the pattern found no variables: the test would prove nothing"
    assert not read - documented, f"undocumented: {sorted(read - documented)}"
