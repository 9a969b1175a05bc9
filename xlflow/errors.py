"""The tiny exception module: raise only when a run cannot continue.

Problems in what a branch returned are findings (see messages.py), never exceptions.
"""


class XlflowError(Exception):
    """A run cannot continue; the message is Chinese and meant for the clerk."""


class ChecklistError(XlflowError):
    """checklist.yaml cannot be used as it is."""


class RosterError(XlflowError):
    """The branches roster cannot be used as it is."""


class SettingsError(XlflowError):
    """xlflow.toml cannot be used as it is."""


class TemplateError(XlflowError):
    """A Word template does not match what xlflow fills into it."""
