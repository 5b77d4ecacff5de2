"""Settings read from the environment, and the defaults derived from the project's own files."""

from __future__ import annotations

import yaml

from core.settings import PROJECT_ROOT, Settings, fallback_threshold


def test_console_miss_threshold_defaults_to_the_bots_fallback_threshold(monkeypatch):
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    fallback = next(c for c in config["pipeline"] if c["name"].endswith("FallbackClassifier"))
    # An answer the second opinion let through (from agreed_threshold) is not a miss.
    configured = min(fallback["threshold"], fallback.get("agreed_threshold", 1.0))
    monkeypatch.delenv("LOW_CONFIDENCE_THRESHOLD", raising=False)
    assert fallback_threshold() == configured == Settings().low_confidence_threshold
    monkeypatch.setenv("LOW_CONFIDENCE_THRESHOLD", "0.45")
    assert Settings().low_confidence_threshold == 0.45


def test_the_miss_threshold_is_the_lowest_confidence_the_bot_answers_at(tmp_path):
    agreeing, plain = tmp_path / "agreeing.yml", tmp_path / "plain.yml"
    agreeing.write_text(
        "pipeline:\n  - name: bot.nlu.fallback.AgreeingFallbackClassifier\n"
        "    threshold: 0.71\n    agreed_threshold: 0.6\n"
    )
    plain.write_text("pipeline:\n  - name: FallbackClassifier\n    threshold: 0.7\n")
    assert fallback_threshold(agreeing) == 0.6, "an answer the second opinion let through is not a miss"
    assert fallback_threshold(plain) == 0.7


def test_derived_defaults_follow_the_settings_they_derive_from(monkeypatch):
    for name in ("PUBLIC_RASA_URL", "CORS_ORIGINS", "RASA_PORT", "WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(rasa_port=6123, web_port=9123)
    assert settings.public_rasa_url == "http://localhost:6123"
    assert settings.cors_origins == ["http://localhost:9123", "http://127.0.0.1:9123"]
    monkeypatch.setenv("RASA_PORT", "7001")
    assert Settings().public_rasa_url == "http://localhost:7001"
    # An explicit value always wins over the derived one.
    monkeypatch.setenv("PUBLIC_RASA_URL", "https://chat.example.edu")
    assert Settings(rasa_port=6123).public_rasa_url == "https://chat.example.edu"


def test_an_edited_config_gives_its_new_threshold(tmp_path):
    """The threshold is read once per version of config.yml, so a retuned file must still be seen."""
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: FallbackClassifier\n    threshold: 0.7\n")
    assert fallback_threshold(config) == 0.7
    config.write_text("pipeline:\n  - name: FallbackClassifier\n    threshold: 0.55\n")
    assert fallback_threshold(config) == 0.55
