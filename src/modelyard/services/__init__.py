"""The use cases — registry, tracking, traffic, monitoring, admin — each built with only the
stores it needs; ``modelyard.Yard`` is a thin facade over them."""
