"""ORM rows of the stored CTCAE dictionary: one row per version, one per term of a version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safety.db import Base


class CtcaeVersionRow(Base):
    """One imported CTCAE version ("5.0", later "6.0") and the file it came from."""

    __tablename__ = "ctcae_versions"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_file: Mapped[str] = mapped_column(String(300))
    # Re-importing the same file is a no-op; a different file for a version needs --replace.
    source_sha256: Mapped[str] = mapped_column(String(64))
    term_count: Mapped[int] = mapped_column(Integer)
    soc_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(200))


class CtcaeTermRow(Base):
    """One CTCAE term of one version; a grade column is NULL where NCI wrote "-"."""

    __tablename__ = "ctcae_terms"
    __table_args__ = (
        # Typeahead: prefix search on the lower-cased name is served by this index. (pg_trgm is
        # not available on every PostgreSQL this runs on; infix search scans one version's
        # 837 rows, which is well under a millisecond.)
        Index(
            "ix_ctcae_terms_name_key_prefix",
            "ctcae_version",
            "name_key",
            postgresql_ops={"name_key": "text_pattern_ops"},
        ),
    )

    ctcae_version: Mapped[str] = mapped_column(
        ForeignKey("ctcae_versions.version", ondelete="CASCADE"), primary_key=True
    )
    meddra_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300))
    soc_name: Mapped[str] = mapped_column(String(200))
    soc_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    definition: Mapped[str | None] = mapped_column(Text, nullable=True)
    navigational_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    change_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_other_specify: Mapped[bool] = mapped_column(Boolean)
    grade_1: Mapped[str | None] = mapped_column(Text, nullable=True)
    grade_2: Mapped[str | None] = mapped_column(Text, nullable=True)
    grade_3: Mapped[str | None] = mapped_column(Text, nullable=True)
    grade_4: Mapped[str | None] = mapped_column(Text, nullable=True)
    grade_5: Mapped[str | None] = mapped_column(Text, nullable=True)

    def grade_texts(self) -> tuple[str | None, ...]:
        return (self.grade_1, self.grade_2, self.grade_3, self.grade_4, self.grade_5)

    @property
    def defined_grades(self) -> tuple[int, ...]:
        return tuple(g for g, text in enumerate(self.grade_texts(), start=1) if text is not None)
