"""One module per job; each is pure: tables, journal facts, clock and settings in, a Plan out."""
