"""The error a user gets for a config that cannot run."""


class ConfigError(ValueError):
    """The study's configuration cannot run; the message says which key to change and how."""
