"""The public facade: one ``Yard`` over the services (``modelyard.services``)."""

from modelyard.services.runs import ActiveRun
from modelyard.yard.core import Yard

__all__ = ["ActiveRun", "Yard"]
