"""ASF-assistenten: answers questions about business between ASF and companies, with citations."""

__version__ = "0.1.0"
