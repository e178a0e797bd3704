"""Every setting is documented where operators look for it."""

from pathlib import Path

from modelyard.config import Settings

CONFIGURATION = Path(__file__).parents[1] / "docs" / "configuration.md"


def test_every_setting_is_in_the_configuration_page() -> None:
    page = CONFIGURATION.read_text()
    missing = [
        f"MODELYARD_{name.upper()}"
        for name in Settings.model_fields
        if f"`MODELYARD_{name.upper()}`" not in page
    ]
    assert missing == []
