"""What jobs need to know besides the world and the clock: the validated config sections, read
directly (never re-typed), plus the two facts a run derives from its state (the answer-code secret
and the configured sheet names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from automations.config import (
    AnswersConfig,
    CheckpointsConfig,
    Config,
    CooperativeConfig,
    FollowUpConfig,
    InvitationsConfig,
)


@dataclass(frozen=True)
class Settings:
    cooperative: CooperativeConfig = field(default_factory=CooperativeConfig)
    mail_domain: str = "ouvre-boites.example"
    invitations: InvitationsConfig = field(default_factory=InvitationsConfig)
    answers: AnswersConfig = field(default_factory=AnswersConfig)
    followups: FollowUpConfig = field(default_factory=FollowUpConfig)
    checkpoints: CheckpointsConfig = field(default_factory=CheckpointsConfig)
    code_secret: bytes = b""
    names: Mapping[str, str] = field(default_factory=dict)
    """Sheet names by key, as configured: for sheets a job writes without reading them."""
    advisor_views: Mapping[str, str] = field(default_factory=dict)
    """Advisor email (case-folded) → where their view lives, as configured: the summary job needs the
    emails to restrict « Synthèse », and the place to rewrite a view that moved."""

    @classmethod
    def of(cls, config: Config, code_secret: bytes, names: Mapping[str, str]) -> Settings:
        return cls(
            cooperative=config.cooperative,
            mail_domain=config.mail.domain,
            invitations=config.invitations,
            answers=config.answers,
            followups=config.followups,
            checkpoints=config.checkpoints,
            code_secret=code_secret,
            names=dict(names),
            advisor_views={email.strip().casefold(): where for email, where in config.advisor_views.items()},
        )

    @property
    def form(self) -> AnswersConfig | None:
        """The Google Form seekers answer through, when one is configured."""
        return self.answers if self.answers.form_url else None
