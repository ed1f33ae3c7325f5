"""Errors that carry one clear sentence for the user.

Everything the user can get wrong (a bad file, a missing bundle, a loss that diverged) raises a
subclass of :class:`ExplorerError`; the command line prints its message and exits with status 2,
the app shows it in an error box. Programming errors stay ordinary exceptions.
"""


class ExplorerError(Exception):
    """A problem with the user's input or files, explained in one sentence."""


class DataError(ExplorerError):
    """Images or arrays that cannot be used."""


class BundleError(ExplorerError):
    """A model bundle that is missing, incomplete or does not match the code."""


class TrainingError(ExplorerError):
    """Training that cannot go on (for example a non-finite loss)."""
