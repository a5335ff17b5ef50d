"""Passerelle: closes the loop between employment-agency referrals and a cooperative's sessions."""

__version__ = "0.1.0"
