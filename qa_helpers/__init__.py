"""qa-kit: customer-service quality monitoring and improvement, one notebook per step."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qa-kit")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0+unknown"
