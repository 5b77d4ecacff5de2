"""Settings read from the environment, and the defaults derived from the project's own files."""

from __future__ import annotations

import yaml

from core.settings import PROJECT_ROOT, Settings, fallback_threshold


def test_console_miss_threshold_defaults_to_the_bots_fallback_threshold(monkeypatch):
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    configured = next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    monkeypatch.delenv("LOW_CONFIDENCE_THRESHOLD", raising=False)
    assert fallback_threshold() == configured == Settings().low_confidence_threshold
    monkeypatch.setenv("LOW_CONFIDENCE_THRESHOLD", "0.45")
    assert Settings().low_confidence_threshold == 0.45
