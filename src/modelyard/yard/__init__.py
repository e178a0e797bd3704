"""The service layer: one ``Yard`` over store, flavors, runtime and monitoring."""

from modelyard.yard.core import Yard
from modelyard.yard.runs import ActiveRun

__all__ = ["ActiveRun", "Yard"]
